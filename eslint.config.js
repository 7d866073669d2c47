import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Dependencies point inward: domain <- app <- (http | workers | cli). Only src/compose.ts
// (the composition root) may import adapters/.
const layer = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: forbidden, message }] }],
  },
});

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'data', 'web/vendor', 'coverage', '.tmp'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Response bodies in tests are read as loose JSON.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['web/**/*.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', localStorage: 'readonly', fetch: 'readonly', WebSocket: 'readonly', crypto: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', location: 'readonly', URL: 'readonly', Blob: 'readonly', File: 'readonly', FileReader: 'readonly', XMLHttpRequest: 'readonly', navigator: 'readonly', indexedDB: 'readonly', history: 'readonly', requestAnimationFrame: 'readonly', HTMLElement: 'readonly', Event: 'readonly', AbortController: 'readonly', EventTarget: 'readonly', CustomEvent: 'readonly', Notification: 'readonly', atob: 'readonly', btoa: 'readonly', AudioContext: 'readonly' } },
  },
  {
    // The service worker's global scope.
    files: ['web/sw.js'],
    languageOptions: { globals: { self: 'readonly' } },
  },
  layer(['src/domain/**'], ['**/app/**', '**/ports/**', '**/adapters/**', '**/http/**', '**/workers/**', '**/cli/**', '**/compose*', '**/config*', 'fastify', 'pg', '@electric-sql/*'], 'domain/ is pure: no I/O, no outer layers'),
  layer(['src/app/**', 'src/ports/**'], ['**/adapters/**', '**/http/**', '**/workers/**', '**/cli/**', '**/compose*', 'fastify', 'pg', '@electric-sql/*', 'ioredis', '@aws-sdk/*', '@platformatic/*'], 'app/ and ports/ depend only on domain/ and ports/'),
  layer(['src/http/**', 'src/workers/**', 'src/cli/**'], ['**/adapters/**'], 'only src/compose.ts imports adapters/'),
);
