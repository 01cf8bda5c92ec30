import { beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, type ConsoleBuild } from '../../scripts/build-console.js';

/** The budget: the whole console, JavaScript and CSS, before compression. */
const MAX_CONSOLE_BYTES = 150 * 1024;

let built: ConsoleBuild;

beforeAll(async () => {
  built = await buildConsole();
}, 60_000);

const text = (name: string) => {
  const asset = built.assets.find((candidate) => candidate.name === name);
  if (!asset) throw new Error(`no ${name} in the build`);
  return new TextDecoder().decode(asset.contents);
};

describe('the console build', () => {
  it('is one hashed script, one hashed stylesheet and the page', () => {
    // Assess
    const names = built.assets.map((asset) => asset.name);
    expect(names).toHaveLength(3);
    expect(names).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^app-[A-Z0-9]{8}\.css$/),
        expect.stringMatching(/^app-[A-Z0-9]{8}\.js$/),
        'index.html',
      ]),
    );
  });

  it(`weighs at most ${MAX_CONSOLE_BYTES / 1024} KB of JavaScript and CSS before compression`, () => {
    // Act
    const bytes = built.assets
      .filter((asset) => /\.(js|css)$/.test(asset.name))
      .reduce((sum, asset) => sum + asset.contents.length, 0);

    // Assess
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(MAX_CONSOLE_BYTES);
  });

  it('bundles the browser SDK and Preact, but no zod, no signing code and no Node builtin', () => {
    // Assess
    expect(built.inputs).toContain('sdk/client.ts');
    expect(built.inputs.some((input) => input.includes('node_modules/preact/'))).toBe(true);
    expect(built.inputs.filter((input) => /node_modules\/zod|signature\.ts|^node:/.test(input))).toEqual([]);
  });

  it('links the page to its own files only: no inline script or style, nothing from another origin', () => {
    // Act
    const html = text('index.html');
    const script = built.assets.find((asset) => asset.name.endsWith('.js'))?.name;
    const style = built.assets.find((asset) => asset.name.endsWith('.css'))?.name;

    // Assess
    expect(html).toContain(`<script type="module" src="console/${script}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="console/${style}" />`);
    expect(html).not.toMatch(/<script>|<style|style=|\son[a-z]+=/i);
    // The only absolute URL is the SVG namespace inside the data: icon, which is never fetched.
    expect(html.match(/https?:\/\/[^'"\s)]+/g)).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('never writes markup from strings: no innerHTML or dangerouslySetInnerHTML in the console code', () => {
    // Act
    const js = text(built.assets.find((asset) => asset.name.endsWith('.js'))?.name ?? '');

    // Assess: Preact itself reads `dangerouslySetInnerHTML` props; the console never passes one.
    expect(js.match(/dangerouslySetInnerHTML/g)?.length ?? 0).toBeLessThanOrEqual(2);
    expect(js).not.toMatch(/\.outerHTML\s*=|insertAdjacentHTML|document\.write/);
  });
});
