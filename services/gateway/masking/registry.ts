import type { Detector } from './detector.js';
import { emailDetector } from './detectors/email.js';
import { usSsnDetector, ukNinoDetector } from './detectors/national-id.js';
import { paymentCardDetector } from './detectors/payment-card.js';
import { phoneDetector } from './detectors/phone.js';
import { privateKeyDetector } from './detectors/private-key.js';
import {
  awsAccessKeyDetector,
  bearerTokenDetector,
  githubTokenDetector,
  jwtDetector,
  slackTokenDetector,
  stripeKeyDetector,
} from './detectors/tokens.js';
import { UnknownDetectorError } from './errors.js';

/** Every detector, by the name a policy decision uses in `mask.detectors`. */
export const DETECTORS: ReadonlyMap<string, Detector> = new Map(
  [
    emailDetector,
    paymentCardDetector,
    usSsnDetector,
    ukNinoDetector,
    phoneDetector,
    awsAccessKeyDetector,
    githubTokenDetector,
    slackTokenDetector,
    stripeKeyDetector,
    bearerTokenDetector,
    jwtDetector,
    privateKeyDetector,
  ].map((d) => [d.name, d]),
);

const SECRETS = [
  'aws_access_key',
  'github_token',
  'slack_token',
  'stripe_key',
  'bearer_token',
  'jwt',
  'private_key',
];

/**
 * Group names a decision may use instead of listing detectors. The policies use `card`, `email`, `national_id`,
 * `phone` and `secret`.
 */
export const DETECTOR_GROUPS: ReadonlyMap<string, readonly string[]> = new Map([
  ['card', ['payment_card']],
  ['national_id', ['us_ssn', 'uk_nino']],
  ['secret', SECRETS],
  ['secrets', SECRETS],
  ['pii', ['email', 'payment_card', 'us_ssn', 'uk_nino', 'phone']],
  ['all', [...DETECTORS.keys()]],
]);

/**
 * The detectors named by a decision (names or group names, case-insensitive, duplicates removed, in registry
 * order). An unknown name throws `UnknownDetectorError`: masking cannot be done as asked, so fail closed.
 */
export function resolveDetectors(names: readonly string[]): Detector[] {
  const wanted = new Set<string>();
  for (const raw of names) {
    const name = raw.toLowerCase();
    const group = DETECTOR_GROUPS.get(name);
    if (group !== undefined) for (const g of group) wanted.add(g);
    else if (DETECTORS.has(name)) wanted.add(name);
    else throw new UnknownDetectorError(raw);
  }
  return [...DETECTORS.values()].filter((d) => wanted.has(d.name));
}

/** Same as `resolveDetectors`. */
export const detectorsFor = resolveDetectors;
