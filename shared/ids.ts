// Target ids: regions and environments are named with lower-case letters, digits and hyphens, starting with a
// letter (an AWS region code fits). One pattern for the config, the override header and the CLI.
export const TARGET_ID = /^[a-z][a-z0-9-]{0,62}$/;
