import type { EnvironmentValues, JsonWriter, runVariables } from '../../shared/config/environment.js';

/**
 * What the stack gives every function it builds, for its environment: the values of the variables every function
 * reads (shared/config/environment.ts, `runVariables`), and how to write JSON variables so that the tokens in
 * them resolve. Each construct adds the variables of its own function and writes them through that function's
 * environment contract.
 */
export interface RunEnvironment {
  readonly values: EnvironmentValues<typeof runVariables>;
  readonly json: JsonWriter;
}
