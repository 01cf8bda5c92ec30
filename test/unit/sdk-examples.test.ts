import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * Every public method of the SDK's exported classes, and every exported function, carries an `@example`
 * in its TSDoc: that is what a user sees when hovering a call in their editor. Private and protected
 * members, constructors and anything marked `@internal` are not the SDK's surface and need none.
 */

const SDK_DIR = resolve(import.meta.dirname, '../../sdk');

interface Documented {
  /** `file: Class.method` or `file: function`. */
  name: string;
  hasExample: boolean;
}

function tagNames(node: ts.Node): string[] {
  return ts.getJSDocTags(node).map((tag) => tag.tagName.text);
}

function isExported(node: ts.Node): boolean {
  return (ts.getCombinedModifierFlags(node as ts.Declaration) & ts.ModifierFlags.Export) !== 0;
}

function isPublicMember(member: ts.ClassElement): boolean {
  if (member.name !== undefined && ts.isPrivateIdentifier(member.name)) return false;
  const flags = ts.getCombinedModifierFlags(member);
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
}

/** The SDK's public callables in one source file, each with whether its TSDoc has an `@example`. */
function publicCallables(file: string): Documented[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(join(SDK_DIR, file), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const found: Documented[] = [];
  const add = (name: string, nodes: ts.Node[]) => {
    const tags = nodes.flatMap(tagNames);
    if (tags.includes('internal')) return;
    const existing = found.find((entry) => entry.name === name);
    const hasExample = tags.includes('example');
    // Overloads: one `@example` on any signature is enough.
    if (existing) existing.hasExample ||= hasExample;
    else found.push({ name, hasExample });
  };
  for (const statement of source.statements) {
    if (ts.isClassDeclaration(statement) && statement.name && isExported(statement)) {
      if (tagNames(statement).includes('internal')) continue;
      for (const member of statement.members) {
        const callable = ts.isMethodDeclaration(member) || ts.isAccessor(member);
        if (!callable || !isPublicMember(member)) continue;
        add(`${file}: ${statement.name.text}.${member.name.getText(source)}`, [member]);
      }
    } else if (ts.isFunctionDeclaration(statement) && statement.name && isExported(statement)) {
      add(`${file}: ${statement.name.text}`, [statement]);
    } else if (ts.isVariableStatement(statement) && isExported(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        const init = declaration.initializer;
        if (!init || !(ts.isArrowFunction(init) || ts.isFunctionExpression(init))) continue;
        add(`${file}: ${declaration.name.getText(source)}`, [declaration]);
      }
    }
  }
  return found;
}

const files = readdirSync(SDK_DIR).filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'));
const callables = files.flatMap(publicCallables);

describe('SDK TSDoc examples', () => {
  it('finds the SDK surface (so an empty walk cannot pass)', () => {
    const names = callables.map((entry) => entry.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'jobs.ts: JobsResource.create',
        'jobs.ts: JobsResource.triggerWebhook',
        'entities.ts: EntitiesResource.update',
        'client.ts: ControlPlaneClient.health',
        'executions.ts: ExecutionsResource.callback',
        'api-keys.ts: ApiKeysResource.list',
        'webhooks.ts: signWebhookPayload',
        'webhooks.ts: standardWebhookHeaders',
      ]),
    );
    // Protected, private and @internal members are not the surface.
    expect(names).not.toContain('client.ts: ControlPlaneClient.iamSigner');
    expect(names).not.toContain('node-client.ts: ControlPlaneClient.iamSigner');
    expect(names.some((name) => name.startsWith('http.ts: Transport.'))).toBe(false);
  });

  it('gives every public method of an exported class, and every exported function, an @example', () => {
    const missing = callables.filter((entry) => !entry.hasExample).map((entry) => entry.name);
    expect(missing, `Without an @example in their TSDoc:\n  ${missing.join('\n  ')}\n`).toEqual([]);
  });
});
