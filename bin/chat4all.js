#!/usr/bin/env node
// The `chat4all` command. Sources are TypeScript run through tsx (a production dependency),
// so the same files run in development, tests and the container image.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/index.ts');
