/** `chat4all worker --roles …`: the pipeline workers of the given roles (the whole application, without the API). */
import type { Config, Role } from '../../config.ts';
import type { RootLogger } from '../../logger.ts';
import { serve } from './serve.ts';

export const worker = (config: Config, roles: readonly Role[], logger: RootLogger): Promise<number> => serve(config, roles, logger, false);
