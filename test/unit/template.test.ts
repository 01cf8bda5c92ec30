import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/domain/errors.js';
import { renderTemplate, templateVariables } from '../../shared/domain/template.js';
import { httpStatusOf } from '../../shared/http/errors-to-http.js';

/** The error `renderTemplate` throws, or a failed assertion if it does not throw one. */
function renderError(template: string, parameters: Record<string, unknown>): ValidationError {
  try {
    renderTemplate(template, parameters);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected renderTemplate to throw');
}

describe('templateVariables', () => {
  it('lists each placeholder once, in order of first appearance, with or without spaces', () => {
    // Prepare
    const template =
      'Deploy {{ branch_name }} to {{environment}}; then {{ branch_name }} and {{  repo.owner  }}';

    // Act
    const names = templateVariables(template);

    // Assess
    expect(names).toEqual(['branch_name', 'environment', 'repo.owner']);
  });

  it.each([
    ['no placeholders', 'Check the health of all production services'],
    ['a single brace', 'Use {name} here'],
    ['an empty placeholder', 'Use {{ }} here'],
    ['a name starting with a digit', 'Use {{ 1st }} here'],
    ['a name with a space inside', 'Use {{ first name }} here'],
    ['a trailing dot', 'Use {{ repo. }} here'],
  ])('finds nothing in a template with %s', (_label, template) => {
    // Prepare
    // (the template)

    // Act
    const names = templateVariables(template);

    // Assess
    expect(names).toEqual([]);
  });
});

describe('renderTemplate', () => {
  it('fills placeholders written with and without spaces, as the reference writes them', () => {
    // Prepare
    const template = 'Deploy branch {{ branch_name }} to {{environment}} ';

    // Act
    const rendered = renderTemplate(template, { branch_name: 'main', environment: 'production' });

    // Assess
    expect(rendered).toBe('Deploy branch main to production ');
  });

  it('follows dotted paths into nested parameters and array indexes', () => {
    // Prepare
    const template = 'Build {{ repo.name }}@{{ repo.ref.branch }} for {{ targets.1 }}';
    const parameters = { repo: { name: 'api', ref: { branch: 'release/2.0' } }, targets: ['x86', 'arm64'] };

    // Act
    const rendered = renderTemplate(template, parameters);

    // Assess
    expect(rendered).toBe('Build api@release/2.0 for arm64');
  });

  it('writes strings as they are and every other value as JSON', () => {
    // Prepare
    const template = '{{ s }}|{{ n }}|{{ b }}|{{ o }}|{{ a }}|{{ zero }}|{{ empty }}|{{ no }}';
    const parameters = {
      s: 'text "quoted"',
      n: 1.5,
      b: true,
      o: { k: 'v' },
      a: [1, 'two'],
      zero: 0,
      empty: '',
      no: false,
    };

    // Act
    const rendered = renderTemplate(template, parameters);

    // Assess
    expect(rendered).toBe('text "quoted"|1.5|true|{"k":"v"}|[1,"two"]|0||false');
  });

  it('fills a repeated placeholder everywhere and leaves text that is not a placeholder alone', () => {
    // Prepare
    const template = '{{ x }} and {{x}} but not {x} or {{ 1x }}';

    // Act
    const rendered = renderTemplate(template, { x: 'X' });

    // Assess
    expect(rendered).toBe('X and X but not {x} or {{ 1x }}');
  });

  it('does not re-render placeholders that appear inside a parameter value', () => {
    // Prepare
    const template = 'Say {{ greeting }}';

    // Act
    const rendered = renderTemplate(template, { greeting: '{{ secret }}', secret: 'leaked' });

    // Assess
    expect(rendered).toBe('Say {{ secret }}');
  });

  it('ignores extra parameters', () => {
    // Prepare
    const template = 'Rollback {{ service_name }}';

    // Act
    const rendered = renderTemplate(template, { service_name: 'billing', version: 'v1.2.3', other: null });

    // Assess
    expect(rendered).toBe('Rollback billing');
  });

  it('lists every missing parameter at once, each with its path, in a 422', () => {
    // Prepare
    const template = 'Rollback service {{ service_name }} to version {{ version }} in {{ region.name }}';

    // Act
    const error = renderError(template, { region: {} });

    // Assess
    expect(httpStatusOf(error)).toBe(422);
    expect(error.details).toEqual([
      {
        path: 'parameters.service_name',
        message: 'is required by the prompt template',
        code: 'missing_parameter',
      },
      {
        path: 'parameters.version',
        message: 'is required by the prompt template',
        code: 'missing_parameter',
      },
      {
        path: 'parameters.region.name',
        message: 'is required by the prompt template',
        code: 'missing_parameter',
      },
    ]);
    expect(error.message).toBe('Missing template parameters: service_name, version, region.name.');
  });

  it.each<[string, Record<string, unknown>]>([
    ['null', { value: null }],
    ['absent', {}],
    ['a path through a string', { value: 'text' }],
    ['a path through a number', { value: 5 }],
  ])('treats a value that is %s as missing', (_label, parameters) => {
    // Prepare
    const template = 'Use {{ value }} and {{ value.length }}';

    // Act
    const error = renderError(template, parameters);

    // Assess
    expect(error.details.map((detail) => detail.path)).toContain('parameters.value.length');
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'never reads the inherited property "%s" as a parameter',
    (name) => {
      // Prepare
      const template = `Use {{ ${name} }} and {{ a.${name} }}`;

      // Act
      const error = renderError(template, { a: {} });

      // Assess
      expect(error.details.map((detail) => detail.path)).toEqual([
        `parameters.${name}`,
        `parameters.a.${name}`,
      ]);
    },
  );

  it('renders a value stored under a key that names an inherited property when it is the caller’s own', () => {
    // Prepare
    const parameters = JSON.parse('{"constructor":"mine","__proto__":"also mine"}') as Record<
      string,
      unknown
    >;

    // Act
    const rendered = renderTemplate('{{ constructor }} / {{ __proto__ }}', parameters);

    // Assess
    expect(rendered).toBe('mine / also mine');
  });
});
