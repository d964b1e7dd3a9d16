import type { ServerConfig } from '../../config.js';

/** The settings that shape request schemas: bounds come from config, so docs show the real ones. */
export type RequestLimits = Pick<ServerConfig, 'maxInputsPerRequest' | 'maxTextChars' | 'maxTopK' | 'maxAnswerLength' | 'maxDeadlineMs'>;
