/** Public surface of the seeded support-data generator. */
export {
  DatagenError,
  DEFAULT_SEED,
  FILES,
  generateDatasets,
  GENERATOR_VERSION,
  type DatasetCounts,
  type DatasetSummary,
  type GenerateOptions,
} from './generate.js';
export { generatePassages, toSquad, verifySquad, type Passage, type SquadDocument } from './help-center/index.js';
export { generateIntents, INTENTS, OUT_OF_SCOPE, type IntentExample, type IntentSplits } from './intents/index.js';
export { Rng } from './prng.js';
