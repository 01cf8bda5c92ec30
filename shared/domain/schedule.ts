/** What the local scheduler does about fires it missed while it was not running (`config.catchup`). */
export const CATCHUP_POLICIES = ['none', 'latest'] as const;
export type CatchupPolicy = (typeof CATCHUP_POLICIES)[number];
