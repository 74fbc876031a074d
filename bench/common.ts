/**
 * Pieces shared by the benchmark scripts (bench/load.ts, bench/search-scale.ts): command-line parsing
 * over node:util's parseArgs, one HTTP exchange, nearest-rank percentiles and Markdown tables.
 */
import http from 'node:http';
import type https from 'node:https';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

// ---------------------------------------------------------------------------------------------------------
// Command line

export interface CommandLine {
  /** Bad command line: prints `<program>: <message>` and the usage, and exits with 2. */
  fail(message: string): never;
  /** `value` as a positive whole number, or a failure naming `flag`. */
  count(flag: string, value: string): number;
  /**
   * Hands the options of `argv` to `apply` in order, so the last of a repeated option wins and the first
   * bad one fails: `--name value` or `--name=value` for a string option, a bare `--name` for a boolean
   * one (its value is ''); `flag` is `--name`. `-h` / `--help` prints the usage and exits with 0; an
   * unknown option, a positional argument or a string option without a value fails.
   */
  parse(
    argv: string[],
    options: Record<string, 'string' | 'boolean'>,
    apply: (name: string, value: string, flag: string) => void,
  ): void;
}

export function commandLine(program: string, usage: string): CommandLine {
  const fail = (message: string): never => {
    console.error(`${program}: ${message}\n${usage}`);
    process.exit(2);
  };
  const count = (flag: string, value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) fail(`${flag} expects a positive whole number`);
    return n;
  };
  const parse: CommandLine['parse'] = (argv, options, apply) => {
    const config = Object.fromEntries(Object.entries(options).map(([name, type]) => [name, { type }]));
    // Not strict: the checks (and their messages) are ours, made in the order of the arguments.
    const { tokens } = parseArgs({
      args: argv,
      options: { ...config, help: { type: 'boolean', short: 'h' } },
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    for (const token of tokens) {
      const arg = argv[token.index];
      // Only `--name`, `--name=value` and `-h`: no groups of short flags (`-hx`), no `--` terminator.
      const known =
        token.kind === 'option' &&
        (token.name === 'help' || (Object.hasOwn(options, token.name) && token.rawName.startsWith('--'))) &&
        (arg === token.rawName || arg.startsWith(`${token.rawName}=`));
      if (!known || token.kind !== 'option') fail(`unknown argument ${arg}`);
      else if (token.name === 'help') {
        console.log(usage);
        process.exit(0);
      } else {
        if (options[token.name] === 'boolean') apply(token.name, '', token.rawName);
        else if (token.value === undefined) fail(`${token.rawName} needs a value`);
        else apply(token.name, token.value, token.rawName);
      }
    }
  };
  return { fail, count, parse };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  status: number;
  body: Buffer;
  /** From just before the request is written until the whole body has arrived. */
  ms: number;
}

/** A request's headers and JSON body, encoded once so that timing covers only the exchange. */
export function encodeJson(body?: unknown): { headers: http.OutgoingHttpHeaders; payload?: Buffer } {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  return { headers, payload };
}

/** One exchange over `agent`; the whole response body is read. */
export function send(
  url: URL,
  method: string,
  encoded: { headers: http.OutgoingHttpHeaders; payload?: Buffer },
  agent: http.Agent,
  transport: typeof http | typeof https = http,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = transport.request(url, { method, headers: encoded.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - start }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(encoded.payload);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Statistics and tables

/** Nearest-rank percentile of ascending `sorted`; NaN when it is empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** `n` with `digits` decimals, or `-` when it is not a finite number. */
export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** A Markdown table; a column whose title ends in `:` (not shown) is right-aligned. */
export function markdownTable(columns: string[], rows: Array<Array<string | number>>): string {
  const titles = columns.map((c) => (c.endsWith(':') ? c.slice(0, -1) : c));
  const rules = columns.map((c) => (c.endsWith(':') ? '---:' : '---'));
  return [
    `| ${titles.join(' | ')} |`,
    `|${rules.join('|')}|`,
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
}
