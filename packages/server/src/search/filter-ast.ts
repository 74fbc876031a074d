/** The parsed form of an MLflow search filter, shared by runs, experiments and registry searches. */
export type EntityType = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';

export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';

export type FilterValue =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'list'; values: string[] };

export interface Comparison {
  kind: 'comparison';
  entity: EntityType;
  key: string;
  comparator: Comparator;
  value: FilterValue;
}

export type FilterNode = Comparison | { kind: 'and' | 'or'; nodes: FilterNode[] };

export interface OrderByClause {
  entity: EntityType;
  key: string;
  ascending: boolean;
}
