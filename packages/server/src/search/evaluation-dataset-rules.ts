import {
  invalid,
  KEY_VALUE_OPS,
  NUMERIC_OPS,
  pyList,
  requireOp,
  requireString,
  STRING_OPS,
} from './comparison-checks.js';
import { type Comparison, type FilterNode, mapComparisons } from './filter-ast.js';
import { type IdentifierGrammar, parseFilter, parseOrderBy } from './filter-parser.js';

const PREFIXES = ['attributes', 'attribute', 'attr', 'tags', 'tag'];

const DATASET_IDENTIFIERS: IdentifierGrammar = {
  prefixes: { attributes: 'attribute', attribute: 'attribute', attr: 'attribute', tags: 'tag', tag: 'tag' },
  unknownPrefix: (p) => `Invalid entity type '${p}'. Valid values are ${pyList(PREFIXES)}.`,
};

const STRING_COLUMNS = ['name', 'dataset_id', 'digest', 'created_by', 'last_updated_by'];
const NUMERIC_COLUMNS = ['created_time', 'last_update_time'];
const ORDER_COLUMNS = ['name', 'created_time', 'last_update_time', 'dataset_id'];

function checkComparison(c: Comparison): Comparison {
  if (c.entity === 'tag') {
    requireOp(c, KEY_VALUE_OPS, 'tag');
    requireString(c, 'tag');
    return c;
  }
  if (c.entity !== 'attribute') invalid(`Invalid entity type '${c.entity}'.`);
  if (NUMERIC_COLUMNS.includes(c.key)) {
    requireOp(c, NUMERIC_OPS, 'attribute');
    if (c.value.kind !== 'number') {
      invalid(`Invalid value ${c.value.raw} for attribute '${c.key}': expected a number.`);
    }
    return c;
  }
  if (STRING_COLUMNS.includes(c.key)) {
    requireOp(c, STRING_OPS, 'attribute');
    requireString(c, 'attribute');
    return c;
  }
  return invalid(
    `Invalid attribute key '${c.key}'. Valid keys are ${pyList([...STRING_COLUMNS, ...NUMERIC_COLUMNS])}.`,
  );
}

/** The filter parsed and checked; attribute keys are evaluation_datasets columns. */
export function checkDatasetFilter(filter: string | undefined): FilterNode | undefined {
  const node = parseFilter(filter, DATASET_IDENTIFIERS);
  return node && mapComparisons(node, checkComparison);
}

export interface DatasetOrder {
  column: 'name' | 'created_time' | 'last_update_time' | 'dataset_id';
  ascending: boolean;
}

function isOrderColumn(key: string): key is DatasetOrder['column'] {
  return ORDER_COLUMNS.includes(key);
}

/** MLflow's default is newest first; the id always breaks ties so that pages never overlap. */
export function checkDatasetOrder(orderBy: string[]): DatasetOrder[] {
  const orders = orderBy.map((clause): DatasetOrder => {
    const o = parseOrderBy(clause, DATASET_IDENTIFIERS);
    if (o.entity !== 'attribute' || !isOrderColumn(o.key)) {
      return invalid(
        `Invalid order_by entity '${clause}'. Datasets can be ordered by ${pyList(ORDER_COLUMNS)}.`,
      );
    }
    return { column: o.key, ascending: o.ascending };
  });
  if (orders.length === 0) orders.push({ column: 'created_time', ascending: false });
  if (!orders.some((o) => o.column === 'dataset_id')) orders.push({ column: 'dataset_id', ascending: true });
  return orders;
}
