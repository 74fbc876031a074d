// Copies this installed mlflow-ts, with its production dependencies as they are installed here, into a
// directory that a model image COPYs: nothing is fetched, so an image builds without the npm registry.
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowError } from '../../entities/errors.js';

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  files?: string[];
  bin?: string | Record<string, string>;
}

/** A package found while walking the dependencies: where Node finds it and where it really is. */
interface FoundPackage {
  /** The path Node resolution reaches (may be a symlink, as npm workspaces make). */
  seen: string;
  real: string;
}

export interface AppBundle {
  /** The bundle's path of the mlflow-ts command, relative to the bundle directory. */
  bin: string;
  packages: number;
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** The directory of the mlflow-ts package this code runs from (dist/serving/docker/ -> package root). */
export function ownPackageDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** Node's lookup: `<dir>/node_modules/<name>` from `from` upwards. */
function findDependency(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Every package the mlflow-ts package needs at run time, itself first. */
function productionClosure(root: string): FoundPackage[] {
  const found = new Map<string, FoundPackage>();
  const queue: FoundPackage[] = [{ seen: root, real: realpathSync(root) }];
  while (queue.length > 0) {
    const pkg = queue.shift() as FoundPackage;
    if (found.has(pkg.seen)) continue;
    found.set(pkg.seen, pkg);
    const json = readPackage(pkg.real);
    const optional = new Set(Object.keys(json.optionalDependencies ?? {}));
    for (const name of new Set([...Object.keys(json.dependencies ?? {}), ...optional])) {
      // Node resolves from the real directory (it follows symlinks), so the lookup starts there.
      const seen = findDependency(name, pkg.real);
      if (!seen) {
        if (optional.has(name)) continue; // an optional dependency for another platform
        throw new MlflowError(
          'INVALID_STATE',
          `Cannot bundle mlflow-ts for the image: its dependency ${name} (needed by ${json.name}) is not installed beside it. Run npm install first.`,
        );
      }
      queue.push({ seen, real: realpathSync(seen) });
    }
  }
  return [...found.values()];
}

function commonAncestor(paths: string[]): string {
  let common = paths[0] as string;
  for (const p of paths) {
    while (p !== common && !p.startsWith(`${common}${path.sep}`)) common = path.dirname(common);
  }
  return common;
}

const isInNodeModules = (dir: string) => dir.split(path.sep).includes('node_modules');

/**
 * Files a running mlflow-ts never reads: onnxruntime-node's binaries for other systems (200 MB) and
 * better-sqlite3's sources and compiler intermediates (30 MB).
 */
function notNeeded(src: string): boolean {
  const onnx = /[\\/]onnxruntime-node[\\/]bin[\\/]napi-v\d+[\\/]([^\\/]+)(?:[\\/]([^\\/]+))?/.exec(src);
  if (onnx) return onnx[1] !== 'linux' || (onnx[2] !== undefined && onnx[2] !== process.arch);
  return /[\\/]better-sqlite3[\\/](deps|src|build[\\/]deps|build[\\/]Release[\\/](obj|obj\.target|[^\\/]+\.a))$/.test(
    src,
  );
}

function copyPackage(real: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  const json = readPackage(real);
  if (!isInNodeModules(real) && json.files) {
    // A workspace package (a source checkout): only what `npm pack` would publish.
    for (const entry of ['package.json', ...json.files]) {
      const src = path.join(real, entry);
      if (existsSync(src)) cpSync(src, path.join(dest, entry), { recursive: true });
    }
    return;
  }
  cpSync(real, dest, {
    recursive: true,
    // Nested node_modules are dependencies of their own, copied when the walk reaches them.
    filter: (src) => src === real || (!src.startsWith(path.join(real, 'node_modules')) && !notNeeded(src)),
  });
}

/**
 * Writes the bundle into `dest`, keeping the installed layout (hoisted and nested node_modules,
 * workspace links) so that Node resolves every import inside the image as it does here. Native
 * modules are copied as built here: the image must be Linux on this machine's architecture.
 */
export function writeAppBundle(dest: string, packageDir: string = ownPackageDir()): AppBundle {
  if (process.platform !== 'linux') {
    throw new MlflowError(
      'INVALID_STATE',
      `Model images are built from this mlflow-ts installation, whose native modules are built for ${process.platform}; build the image on Linux (${process.arch}).`,
    );
  }
  const packages = productionClosure(packageDir);
  const root = commonAncestor(packages.flatMap((p) => [path.dirname(p.seen), p.real]));
  const destOf = (p: string) => path.join(dest, path.relative(root, p));
  for (const pkg of packages) {
    copyPackage(pkg.real, destOf(pkg.real));
    if (pkg.seen !== pkg.real && lstatSync(pkg.seen).isSymbolicLink()) {
      mkdirSync(path.dirname(destOf(pkg.seen)), { recursive: true });
      symlinkSync(path.relative(path.dirname(destOf(pkg.seen)), destOf(pkg.real)), destOf(pkg.seen));
    }
  }
  const own = readPackage(packages[0]?.real as string);
  const bin = typeof own.bin === 'string' ? own.bin : (own.bin?.['mlflow-ts'] ?? 'bin/mlflow-ts.js');
  return { bin: path.join(path.relative(root, packages[0]?.real as string), bin), packages: packages.length };
}
