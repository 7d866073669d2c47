/**
 * The repository root holds only what a reader expects there: a scratch file (a `.tmp-t.ts` with
 * a machine path that drops a schema was once committed) fails this test instead of shipping.
 * A new top-level file or folder is added to the list on purpose, in review.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support.ts';

const ALLOWED = [
  '.ci',
  '.dockerignore',
  '.env.example',
  '.gitignore',
  '.prettierignore',
  '.prettierrc.json',
  'BENCHMARKS.md',
  'Dockerfile',
  'README.md',
  'bench',
  'bin',
  'docker-compose.yml',
  'docs',
  'eslint.config.js',
  'k8s',
  'observability',
  'package-lock.json',
  'package.json',
  'scripts',
  'src',
  'test',
  'tsconfig.json',
  'vitest.config.ts',
  'web',
];
/** Local, git-ignored things a checkout may also hold (used only when git is not available). */
const LOCAL = ['.git', 'node_modules', 'data', '.tmp', 'coverage', 'test-artifacts', 'dist', '.env'];

/** Top-level entries of the repository: tracked files from git, else what is on disk. */
function topLevelEntries(): string[] {
  try {
    const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
    return [
      ...new Set(
        tracked
          .split('\0')
          .filter(Boolean)
          .map((f) => f.split('/')[0]),
      ),
    ];
  } catch {
    return readdirSync(ROOT).filter((f) => !LOCAL.includes(f) && !f.endsWith('.log'));
  }
}

describe('repository root', () => {
  it('holds only the allowed files and folders (no scratch files)', () => {
    const stray = topLevelEntries().filter((f) => !ALLOWED.includes(f));
    expect(stray, 'move these into a folder, delete them, or add them to ALLOWED in this test').toEqual([]);
  });
});
