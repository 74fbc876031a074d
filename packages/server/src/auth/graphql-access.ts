// Checks a GraphQL request field by field for a non-admin caller: each root field reads one kind of
// resource named in its `input` argument; a field not known here is refused.
import {
  type DocumentNode,
  type FieldNode,
  Kind,
  parse,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';

export interface GraphqlCheck {
  experiment(id: string): Promise<boolean>;
  run(id: string): Promise<boolean>;
}

type Input = Record<string, unknown>;

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

async function every(ids: string[], check: (id: string) => Promise<boolean>): Promise<boolean> {
  for (const id of new Set(ids)) if (!(await check(id))) return false;
  return true;
}

/** Root fields and what each needs; searches of model versions are filtered by the service instead. */
const FIELDS: Record<string, (input: Input, check: GraphqlCheck) => Promise<boolean>> = {
  mlflowGetExperiment: (i, c) => c.experiment(String(i.experimentId ?? '')),
  mlflowGetRun: (i, c) => c.run(String(i.runId ?? i.runUuid ?? '')),
  mlflowListArtifacts: (i, c) => c.run(String(i.runId ?? i.runUuid ?? '')),
  mlflowGetMetricHistoryBulkInterval: (i, c) => every(strings(i.runIds), (id) => c.run(id)),
  mlflowSearchDatasets: (i, c) => every(strings(i.experimentIds), (id) => c.experiment(id)),
  mlflowSearchModelVersions: async () => true,
  test: async () => true,
  testMutation: async () => true,
};

function rootFields(doc: DocumentNode, operationName: string | undefined): FieldNode[] {
  const fragments = new Map(
    doc.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  const fields: FieldNode[] = [];
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) fields.push(s);
      else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet, seen);
      else if (!seen.has(s.name.value)) {
        const fragment = fragments.get(s.name.value);
        if (fragment) visit(fragment.selectionSet, new Set([...seen, s.name.value]));
      }
    }
  };
  for (const d of doc.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    if (operationName && d.name?.value !== operationName) continue;
    visit(d.selectionSet, new Set());
  }
  return fields;
}

/**
 * Whether every root field of the request may run. A document that does not parse is let through:
 * the GraphQL endpoint answers it with a syntax error and runs nothing.
 */
export async function checkGraphqlAccess(
  request: { query: string; variables?: Record<string, unknown>; operationName?: string },
  check: GraphqlCheck,
): Promise<boolean> {
  let doc: DocumentNode;
  try {
    doc = parse(request.query);
  } catch {
    return true;
  }
  for (const field of rootFields(doc, request.operationName)) {
    const name = field.name.value;
    if (name.startsWith('__')) continue; // introspection
    const rule = FIELDS[name];
    if (!rule) return false;
    const arg = field.arguments?.find((a) => a.name.value === 'input');
    const value = arg ? valueFromASTUntyped(arg.value, request.variables) : {};
    const input = value && typeof value === 'object' && !Array.isArray(value) ? (value as Input) : {};
    if (!(await rule(input, check))) return false;
  }
  return true;
}
