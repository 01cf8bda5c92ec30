import { createHash } from 'node:crypto';
import type { CfnElement, Stack } from 'aws-cdk-lib';

/**
 * Logical IDs that survive grouping resources into constructs. CDK derives a resource's logical ID from its
 * construct path, so moving a resource from the stack's top level into a construct would rename it, and
 * CloudFormation replaces a renamed resource: a new table or queue (its data left behind), a new key (secrets
 * sealed under the old one unreadable), a new API (a new URL), or a failed update for the resources with fixed
 * names (the schedule group, the rules, the `$default` stage, route keys). {@link logicalIdIgnoringGroups}
 * computes the ID as CDK does, but as though the named groups were not in the path.
 */

// CDK's own rules (aws-cdk-lib core, makeUniqueId): "Default" is dropped from the path altogether, "Resource"
// from the readable part only; the readable part is cut at 240 characters, a lone component kept whole up to 255.
const HIDDEN_ID = 'Default';
const HIDDEN_FROM_HUMAN_ID = 'Resource';
const MAX_HUMAN_LENGTH = 240;
const MAX_ID_LENGTH = 255;

const alphanumeric = (component: string) => component.replace(/[^A-Za-z0-9]/g, '');

/** Drops a component when the one before it already ends with it (`Queue/Queue` reads `Queue`). */
function withoutRepeats(components: readonly string[]): string[] {
  const kept: string[] = [];
  for (const component of components) {
    const last = kept[kept.length - 1];
    if (last === undefined || !last.endsWith(component)) kept.push(component);
  }
  return kept;
}

/** The logical ID CDK makes of a path below the stack: the readable path plus 8 hex digits of its MD5. */
export function uniqueIdOf(path: readonly string[]): string {
  const components = path.filter((component) => component !== HIDDEN_ID);
  const [only] = components;
  if (only === undefined) throw new Error('A logical ID needs at least one path component');
  if (components.length === 1 && alphanumeric(only).length <= MAX_ID_LENGTH) return alphanumeric(only);
  const hash = createHash('md5').update(components.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const readable = withoutRepeats(components)
    .filter((component) => component !== HIDDEN_FROM_HUMAN_ID)
    .map(alphanumeric)
    .join('')
    .slice(0, MAX_HUMAN_LENGTH);
  return readable + hash;
}

/**
 * The logical ID of `element` in `stack`, computed from its path as CDK does, without the direct children of the
 * stack whose ids are in `groups`: a resource of such a group keeps the ID it had at the stack's top level. Two
 * groups must not hold children of the same id; CDK then fails synthesis on the duplicate logical ID.
 */
export function logicalIdIgnoringGroups(
  stack: Stack,
  element: CfnElement,
  groups: ReadonlySet<string>,
): string {
  const scopes = element.node.scopes;
  const below = scopes.slice(scopes.indexOf(stack) + 1);
  const path = below
    .filter((scope, index) => !(index === 0 && groups.has(scope.node.id) && below.length > 1))
    .map((scope) => scope.node.id);
  return uniqueIdOf(path);
}
