/** A short random pause before retrying a write that lost a race, so racing writers stop colliding in step. */
export function conflictPause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * attempt));
}
