export { createCopyMasker, createRowMaskerFactory } from './row-masker.js';
export { DETECTOR_NAMES, detectorsFor, luhnValid, maskText } from './detectors.js';
export type { DetectorName } from './detectors.js';
export type { ColumnCatalog, ColumnOrigin } from './catalog.js';
