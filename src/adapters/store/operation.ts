/**
 * The label of a statement in chat4all_db_query_duration_seconds: its first SQL keyword,
 * lower-cased, from a short fixed list ("other" beyond it), so the metric has a handful of series
 * whatever the SQL text. Our texts are constants, so each is classified once.
 */
const OPERATIONS = new Set([
  'select',
  'insert',
  'update',
  'delete',
  'with',
  'begin',
  'commit',
  'rollback',
  'savepoint',
  'release',
  'create',
  'alter',
  'drop',
  'lock',
  'set',
  'show',
  'truncate',
  'copy',
  'do',
  'listen',
  'notify',
]);
const MAX_CACHED = 1000;
const cache = new Map<string, string>();

export function sqlOperation(text: string): string {
  let operation = cache.get(text);
  if (operation !== undefined) return operation;
  // Leading whitespace, -- line comments and /* block comments */ come before the keyword.
  const body = text.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/, '');
  const keyword = /^[A-Za-z]+/.exec(body)?.[0].toLowerCase() ?? '';
  operation = OPERATIONS.has(keyword) ? keyword : 'other';
  if (cache.size < MAX_CACHED) cache.set(text, operation);
  return operation;
}

/** Told the duration of each statement, labelled by sqlOperation. */
export type QueryObserver = (operation: string, seconds: number) => void;

/** Runs `work` (one statement) and tells `observe` how long it took, failed or not. */
export async function timed<T>(observe: QueryObserver | undefined, text: string, work: () => Promise<T>): Promise<T> {
  if (!observe) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    observe(sqlOperation(text), (performance.now() - started) / 1000);
  }
}
