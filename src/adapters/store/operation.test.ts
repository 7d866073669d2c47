import { describe, expect, it } from 'vitest';
import { sqlOperation } from './operation.ts';

describe('sqlOperation (the label of chat4all_db_query_duration_seconds)', () => {
  it('is the first keyword, lower-cased, after whitespace and comments', () => {
    expect(sqlOperation('SELECT 1')).toBe('select');
    expect(sqlOperation('\n   insert into t values ($1)')).toBe('insert');
    expect(sqlOperation('-- why\n/* and how */ UPDATE t SET a = 1')).toBe('update');
    expect(sqlOperation('WITH x AS (SELECT 1) DELETE FROM t')).toBe('with');
    expect(sqlOperation('BEGIN')).toBe('begin');
    expect(sqlOperation('SHOW server_version')).toBe('show');
  });

  it('keeps the label set small: anything else is "other", never a piece of the text', () => {
    expect(sqlOperation('VACUUM ANALYZE t')).toBe('other');
    expect(sqlOperation("  'not sql'")).toBe('other');
    expect(sqlOperation('')).toBe('other');
    for (let i = 0; i < 50; i++) expect(sqlOperation(`SELECT ${i} FROM t${i}`)).toBe('select');
  });
});
