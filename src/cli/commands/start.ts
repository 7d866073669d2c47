/** `chat4all start`: every role in one process (the whole application), with a banner. */
import { ALL_ROLES, type Config } from '../../config.ts';
import type { RootLogger } from '../../logger.ts';
import { serve } from './serve.ts';

export const start = (config: Config, logger: RootLogger): Promise<number> => serve(config, ALL_ROLES, logger, true);
