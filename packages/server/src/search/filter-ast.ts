/** The parsed form of an MLflow search filter, shared by runs, experiments and registry searches. */
/** `metadata`, `span`, `feedback` and `expectation` are trace searches' own (search/trace-rules.ts). */
export type EntityType =
  | 'metric'
  | 'param'
  | 'tag'
  | 'attribute'
  | 'dataset'
  | 'metadata'
  | 'span'
  | 'feedback'
  | 'expectation';

/**
 * The right-hand side as written. `raw` is the source text, which MLflow quotes back in its error
 * messages. Quoted strings keep their inner text verbatim (MLflow does not unescape them).
 */
export type FilterValue =
  | { kind: 'string'; value: string; raw: string }
  | { kind: 'number'; value: number; raw: string }
  | {
      kind: 'list';
      items: ({ kind: 'string'; value: string } | { kind: 'other'; raw: string })[];
      raw: string;
    }
  /** An unquoted word such as `abc`: MLflow rejects it with a message about quoting. */
  | { kind: 'word'; raw: string }
  /** No value: the comparator is IS NULL or IS NOT NULL. */
  | { kind: 'none'; raw: '' };

export interface Comparison {
  kind: 'comparison';
  entity: EntityType;
  key: string;
  /**
   * `=`, `!=`, `<`, `<=`, `>`, `>=`, `LIKE`, `ILIKE`, `IN`, `NOT IN`, `IS NULL` or `IS NOT NULL`
   * after search-rules.ts's checks; straight from the parser it may be one MLflow rejects (`<>`).
   */
  comparator: string;
  value: FilterValue;
}

export type FilterNode = Comparison | { kind: 'and' | 'or'; nodes: FilterNode[] };

export interface OrderByClause {
  entity: EntityType;
  key: string;
  ascending: boolean;
}

/** Visits every comparison in a filter tree, left to right. */
export function comparisons(node: FilterNode | undefined): Comparison[] {
  if (!node) return [];
  return node.kind === 'comparison' ? [node] : node.nodes.flatMap(comparisons);
}

/** Rebuilds a filter tree with each comparison replaced. */
export function mapComparisons(node: FilterNode, fn: (c: Comparison) => Comparison): FilterNode {
  if (node.kind === 'comparison') return fn(node);
  return { kind: node.kind, nodes: node.nodes.map((n) => mapComparisons(n, fn)) };
}
