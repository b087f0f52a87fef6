import { PolicyError } from '../../shared/errors.js';

/**
 * A policy decision named a content detector that does not exist. Masking cannot be done as asked, so the request
 * must fail closed rather than pass data through unmasked.
 */
export class UnknownDetectorError extends PolicyError {
  readonly detector: string;

  constructor(detector: string) {
    super('GH_ERR_MASK_UNKNOWN_DETECTOR', `unknown masking detector '${detector}'`);
    this.detector = detector;
  }
}
