import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';

/** One index, written once for both engines: each dialect's tables.ts builds it with `indexesOn`. */
export interface IndexSpec<Key extends string> {
  name: string;
  /** The table's columns by property name, in the index's order. */
  columns: readonly [Key, ...Key[]];
  /** @default false */
  unique?: boolean;
  /** A partial index's condition, over the table's columns. */
  where?: (columns: Record<Key, SQLWrapper>) => SQL;
}

/** The columns of `tasks` that an index names. */
type TaskIndexed = 'seq' | 'tenant' | 'idempotencyKey' | 'status' | 'kind' | 'leaseExpiresAt' | 'completedAt' | 'feedPos';

/** The indexes of `tasks`. */
export const TASK_INDEXES: readonly IndexSpec<TaskIndexed>[] = [
  { name: 'tasks_seq_uq', columns: ['seq'], unique: true },
  { name: 'tasks_idempotency_key_uq', columns: ['tenant', 'idempotencyKey'], unique: true },
  { name: 'tasks_claim_idx', columns: ['tenant', 'status', 'kind', 'seq'] },
  { name: 'tasks_status_seq_idx', columns: ['tenant', 'status', 'seq'] },
  { name: 'tasks_kind_seq_idx', columns: ['tenant', 'kind', 'seq'] },
  { name: 'tasks_tenant_seq_idx', columns: ['tenant', 'seq'] },
  { name: 'tasks_lease_idx', columns: ['leaseExpiresAt'], where: (t) => sql`${t.status} = 'RUNNING'` },
  { name: 'tasks_retention_idx', columns: ['completedAt'], where: (t) => sql`${t.completedAt} IS NOT NULL` },
  // A tenant's tasks changed after a position, in position order.
  { name: 'tasks_feed_idx', columns: ['tenant', 'feedPos'] },
];

/** The indexes of `task_tags` (its key is (task_id, tag)). */
export const TAG_INDEXES: readonly IndexSpec<'tenant' | 'tag' | 'seq'>[] = [
  // A tenant's tasks with a tag, newest first.
  { name: 'task_tags_tenant_tag_seq_idx', columns: ['tenant', 'tag', 'seq'] },
  // An admin's listing by tag, over every tenant.
  { name: 'task_tags_tag_seq_idx', columns: ['tag', 'seq'] },
];

/** A dialect's index functions (drizzle's `index` and `uniqueIndex` of sqlite-core or pg-core). */
export interface IndexFunctions<C, B extends { where(condition: SQL): B }> {
  index(name: string): { on(...columns: [C, ...C[]]): B };
  uniqueIndex(name: string): { on(...columns: [C, ...C[]]): B };
}

/** `specs` built with one dialect's index functions over `columns`, its table's columns as its extra config receives them. */
export function indexesOn<Key extends string, C extends SQLWrapper, B extends { where(condition: SQL): B }>(
  columns: Record<Key, C>,
  specs: readonly IndexSpec<Key>[],
  dialect: IndexFunctions<C, B>,
): B[] {
  return specs.map(({ name, columns: [first, ...rest], unique = false, where }) => {
    const built = (unique ? dialect.uniqueIndex : dialect.index)(name).on(columns[first], ...rest.map((key) => columns[key]));
    return where ? built.where(where(columns)) : built;
  });
}
