// Target ids: regions and environments are named with lower-case letters, digits and hyphens, starting with a
// letter (an AWS region code fits). One pattern for the config, the override header and the CLI.
export const TARGET_ID = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * The id of a target's origin in the distribution: the target id, or `canary.<region>` for a region's canary
 * deployment ("." is never in a target id). CloudFront Functions select origins by these ids; the infra app makes them.
 */
export function originId(target: string, canary: boolean): string {
  return canary ? `canary.${target}` : target;
}

/**
 * The prefix of an origin's per-try copy (`try.<origin id>`, config originGroups, CloudFront Functions): the same
 * origin with the per-try timeout as its read timeout, the first origin of a group for a GET, HEAD or OPTIONS.
 */
export const PER_TRY = 'try.';
