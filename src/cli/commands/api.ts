/** `chat4all api`: the REST + WebSocket API (the whole application, without workers). */
import type { Config } from '../../config.ts';
import type { RootLogger } from '../../logger.ts';
import { serve } from './serve.ts';

export const api = (config: Config, logger: RootLogger): Promise<number> => serve(config, ['api'], logger, false);
