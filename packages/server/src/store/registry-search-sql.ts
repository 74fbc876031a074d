import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { STAGE_DELETED_INTERNAL } from '../entities/registry.js';
import { type Comparison, comparisons, type FilterNode } from '../search/filter-ast.js';
import { IS_PROMPT_TAG } from '../search/search-rules.js';
import { numericPredicate, stringPredicate } from './search-sql.js';

// Compiles checked registry search filters (search-rules.ts) to SQL over registered_models (aliased
// rm) and model_versions (aliased mv). Tag comparisons are EXISTS probes on the tag tables' primary
// keys, attribute comparisons are column predicates.

const VERSION_COLUMNS: Record<string, string> = {
  name: 'mv.name',
  version_number: 'mv.version',
  run_id: 'mv.run_id',
  source_path: 'mv.source',
};

/**
 * MLflow keeps prompts (registered models tagged mlflow.prompt.is_prompt=true) out of registry
 * searches unless the filter asks for them with `= 'true'` or `!= 'false'` on that tag; otherwise
 * conditions on that tag are dropped.
 */
function queriesPrompts(filter: FilterNode | undefined): boolean {
  const first = comparisons(filter).find((c) => c.entity === 'tag' && c.key === IS_PROMPT_TAG);
  if (first?.value.kind !== 'string') return false;
  const value = first.value.value.toLowerCase();
  return (first.comparator === '=' && value === 'true') || (first.comparator === '!=' && value === 'false');
}

function combine(node: FilterNode, leaf: (c: Comparison) => RawBuilder<SqlBool>): RawBuilder<SqlBool> {
  if (node.kind === 'comparison') return leaf(node);
  const joiner = node.kind === 'and' ? sql` and ` : sql` or `;
  return sql<SqlBool>`(${sql.join(
    node.nodes.map((n) => combine(n, leaf)),
    joiner,
  )})`;
}

function tagPredicate(row: RawBuilder<unknown>, c: Comparison, prompts: boolean): RawBuilder<SqlBool> {
  if (c.key === IS_PROMPT_TAG && !prompts) return sql<SqlBool>`1 = 1`;
  return sql<SqlBool>`exists (${row} and t.key = ${c.key} and ${stringPredicate(sql.ref('t.value'), c)})`;
}

function promptModel(name: RawBuilder<unknown>): RawBuilder<SqlBool> {
  return sql<SqlBool>`exists (select 1 from registered_model_tags p where p.name = ${name} and p.key = ${IS_PROMPT_TAG} and p.value = 'true')`;
}

/** The WHERE condition of a registered-model search (rows of registered_models as rm). */
export function registeredModelWhere(filter: FilterNode | undefined): RawBuilder<SqlBool> {
  const prompts = queriesPrompts(filter);
  const parts: RawBuilder<SqlBool>[] = [];
  if (!prompts) parts.push(sql<SqlBool>`not ${promptModel(sql.ref('rm.name'))}`);
  if (filter) {
    const tagRow = sql`select 1 from registered_model_tags t where t.name = rm.name`;
    parts.push(
      combine(filter, (c) =>
        c.entity === 'tag' ? tagPredicate(tagRow, c, prompts) : stringPredicate(sql.ref('rm.name'), c),
      ),
    );
  }
  return sql<SqlBool>`${sql.join(parts, sql` and `)}`;
}

/**
 * The WHERE condition of a model-version search (rows of model_versions as mv); deleted versions
 * never match. MLflow leaves out the versions of prompts by their version tags.
 */
export function modelVersionWhere(filter: FilterNode | undefined): RawBuilder<SqlBool> {
  const prompts = queriesPrompts(filter);
  const parts: RawBuilder<SqlBool>[] = [sql<SqlBool>`mv.current_stage <> ${STAGE_DELETED_INTERNAL}`];
  if (!prompts) {
    parts.push(
      sql<SqlBool>`not exists (select 1 from model_version_tags p where p.name = mv.name and p.key = ${IS_PROMPT_TAG} and p.value = 'true')`,
    );
  }
  if (filter) {
    const tagRow = sql`select 1 from model_version_tags t where t.name = mv.name and t.version = mv.version`;
    parts.push(
      combine(filter, (c) => {
        if (c.entity === 'tag') return tagPredicate(tagRow, c, prompts);
        const column = sql.ref(VERSION_COLUMNS[c.key]);
        return c.value.kind === 'number' ? numericPredicate(column, c) : stringPredicate(column, c);
      }),
    );
  }
  return sql<SqlBool>`${sql.join(parts, sql` and `)}`;
}
