import { useMemo, useState } from 'preact/hooks';
import {
  describeTarget,
  type Entity,
  type EntityCreateInput,
  type EntityTarget,
  type EntityType,
} from '../../sdk/browser.js';
import {
  ConfirmButton,
  Empty,
  ErrorMessage,
  Field,
  Instant,
  LiveNote,
  SecretOnce,
  splitErrors,
  useFocusHeading,
} from '../components.js';
import { flash } from '../flash.js';
import { useAction, useLoader, useSession } from '../hooks.js';
import { links, navigate } from '../router.js';

/** Every entity (agents, teams, workflows) with its target. */
export function EntitiesView() {
  const { api } = useSession();
  const list = useLoader(() => api.client.entities.list(), [], { pollMs: 15_000 });
  const heading = useFocusHeading('entities');
  return (
    <section>
      <div class="title-row">
        <h1 ref={heading} tabIndex={-1}>
          Entities
        </h1>
        <a class="button primary" href={links.newEntity()}>
          New entity
        </a>
      </div>
      <p class="muted">The agents, teams and workflows jobs run on, and where each run is sent.</p>
      <ErrorMessage error={list.error} />
      <LiveNote updatedAt={list.updatedAt} />
      {!list.data ? (
        !list.error && <p class="muted">Loading…</p>
      ) : list.data.length === 0 ? (
        <Empty>
          No entities yet — <a href={links.newEntity()}>create one</a> for your jobs to run on.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Entities, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                <th scope="col">Type</th>
                <th scope="col">Target</th>
                <th scope="col">Default</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((entity) => (
                <tr key={entity.id}>
                  <th scope="row">
                    <a href={links.entity(entity.id)}>{entity.name}</a>
                  </th>
                  <td class="mono">{entity.id}</td>
                  <td>{entity.type}</td>
                  <td class="mono wrap">{describeTarget(entity.target)}</td>
                  <td>{entity.default ? 'yes, the default' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface EntityForm {
  id: string;
  type: EntityType;
  name: string;
  description: string;
  targetType: EntityTarget['type'];
  url: string;
  timeout: string;
  functionName: string;
  isDefault: boolean;
  /**
   * The entity's target as stored: kept as it is where the form has no fields for it (the AWS kinds, a
   * Lambda target's invocation type), so saving a rename never changes the target.
   */
  stored: EntityTarget | undefined;
}

function formOf(entity: Entity | undefined): EntityForm {
  const target = entity?.target;
  return {
    id: entity?.id ?? '',
    type: entity?.type ?? 'agent',
    name: entity?.name ?? '',
    description: entity?.description ?? '',
    targetType: target?.type ?? 'http',
    url: target?.type === 'http' ? target.url : '',
    timeout:
      target?.type === 'http' && target.timeout_seconds !== undefined ? String(target.timeout_seconds) : '',
    functionName: target?.type === 'lambda' ? target.function_name : '',
    isDefault: entity?.default ?? false,
    stored: target,
  };
}

function targetOf(form: EntityForm): EntityTarget {
  const { stored } = form;
  if (form.targetType === 'lambda') {
    const invocation = stored?.type === 'lambda' ? stored.invocation : undefined;
    return { type: 'lambda', function_name: form.functionName, ...(invocation && { invocation }) };
  }
  if (form.targetType === 'echo') return { type: 'echo' };
  // The form edits http, lambda and echo targets; any other kind is kept as stored.
  if (form.targetType !== 'http' && stored?.type === form.targetType) return stored;
  return {
    type: 'http',
    url: form.url,
    ...(form.timeout.trim() !== '' && { timeout_seconds: Number(form.timeout) }),
  };
}

const ENTITY_FIELDS = [
  'id',
  'type',
  'name',
  'description',
  'target.url',
  'target.timeout_seconds',
  'target.function_name',
  'target',
  'default',
];

/** Create (`entityId` absent) or edit an entity; delete from the edit view. */
export function EntityView({ entityId }: { entityId?: string }) {
  const { api } = useSession();
  const loaded = useLoader(
    () => (entityId ? api.client.entities.get(entityId) : Promise.resolve(undefined)),
    [entityId],
  );
  const heading = useFocusHeading(entityId ?? 'new-entity');
  const [secret] = useState(() => (entityId ? flash.take(`entity:${entityId}`) : undefined));
  if (entityId && !loaded.data) {
    return (
      <section>
        <h1 ref={heading} tabIndex={-1}>
          Entity {entityId}
        </h1>
        {loaded.error ? <ErrorMessage error={loaded.error} /> : <p class="muted">Loading…</p>}
      </section>
    );
  }
  return (
    <EntityFormBody key={loaded.data?.id ?? 'new'} entity={loaded.data} heading={heading} secret={secret} />
  );
}

function EntityFormBody(props: {
  entity: Entity | undefined;
  heading: { current: HTMLHeadingElement | null };
  secret: { label: string; value: string } | undefined;
}) {
  const { api } = useSession();
  const { entity } = props;
  const [form, setForm] = useState(() => formOf(entity));
  const [newSecret, setNewSecret] = useState<string | null>(null);
  const save = useAction(async (input: EntityForm) => {
    const target = targetOf(input);
    if (!entity) {
      const body: EntityCreateInput = {
        type: input.type,
        name: input.name,
        description: input.description === '' ? null : input.description,
        target,
        default: input.isDefault,
        ...(input.id.trim() !== '' && { id: input.id.trim() }),
      };
      return api.client.entities.create(body);
    }
    const targetChanged = JSON.stringify(target) !== JSON.stringify(entity.target);
    return api.client.entities.update(entity.id, {
      name: input.name,
      description: input.description === '' ? null : input.description,
      default: input.isDefault,
      ...(targetChanged && { target }),
    });
  });
  const remove = useAction(async () => {
    if (entity) await api.client.entities.delete(entity.id);
    return true;
  });
  const { byField, rest } = useMemo(() => splitErrors(save.error, ENTITY_FIELDS), [save.error]);
  const set = (patch: Partial<EntityForm>) => setForm((previous) => ({ ...previous, ...patch }));

  const submit = async (event: Event) => {
    event.preventDefault();
    const saved = await save.run(form);
    if (!saved) return;
    const secret = 'signing_secret' in saved ? (saved.signing_secret as string) : null;
    if (!entity) {
      if (secret) flash.put(`entity:${saved.id}`, 'Signing secret', secret);
      navigate(links.entity(saved.id));
      return;
    }
    setNewSecret(secret);
  };

  const title = entity ? entity.name : 'New entity';
  return (
    <section>
      <p class="crumbs">
        <a href={links.entities()}>Entities</a>
      </p>
      <h1 ref={props.heading} tabIndex={-1}>
        {title}
      </h1>
      {props.secret && <SecretOnce label={props.secret.label} value={props.secret.value} />}
      {newSecret && <SecretOnce label="Signing secret" value={newSecret} />}
      {entity && (
        <p class="muted">
          Created <Instant iso={entity.created_at} />, updated <Instant iso={entity.updated_at} />.
        </p>
      )}
      <form
        class="form"
        onSubmit={submit}
        noValidate
        aria-label={entity ? `Edit ${entity.name}` : 'New entity'}
      >
        {save.error && (rest.length > 0 || Object.keys(byField).length === 0) && (
          <ErrorMessage error={save.error} />
        )}
        <div class="row">
          <Field id="entity-id" label={entity ? 'Id (fixed)' : 'Id (optional)'} error={byField.id}>
            {(aria) => (
              <input
                {...aria}
                class="mono"
                value={form.id}
                readOnly={!!entity}
                onInput={(e) => set({ id: e.currentTarget.value })}
              />
            )}
          </Field>
          <Field id="entity-type" label={entity ? 'Type (fixed)' : 'Type'} error={byField.type}>
            {(aria) => (
              <select
                {...aria}
                value={form.type}
                disabled={!!entity}
                onChange={(e) => set({ type: e.currentTarget.value as EntityType })}
              >
                <option value="agent">agent</option>
                <option value="team">team</option>
                <option value="workflow">workflow</option>
              </select>
            )}
          </Field>
        </div>
        <Field id="entity-name" label="Name" error={byField.name}>
          {(aria) => (
            <input {...aria} value={form.name} onInput={(e) => set({ name: e.currentTarget.value })} />
          )}
        </Field>
        <Field id="entity-description" label="Description (optional)" error={byField.description}>
          {(aria) => (
            <textarea
              {...aria}
              rows={2}
              value={form.description}
              onInput={(e) => set({ description: e.currentTarget.value })}
            />
          )}
        </Field>
        <fieldset class="field">
          <legend>Target</legend>
          {(['http', 'lambda', 'echo'] as const).map((type) => (
            <label class="choice" key={type}>
              <input
                type="radio"
                name="target-type"
                checked={form.targetType === type}
                onChange={() => set({ targetType: type })}
              />{' '}
              {type === 'http'
                ? 'HTTP endpoint (signed requests)'
                : type === 'lambda'
                  ? 'Lambda function'
                  : 'Echo (records the request)'}
            </label>
          ))}
          {byField.target && <p class="field-error">{byField.target}</p>}
        </fieldset>
        {form.targetType === 'http' && (
          <div class="row">
            <Field id="entity-url" label="Target URL" error={byField['target.url']}>
              {(aria) => (
                <input
                  {...aria}
                  type="url"
                  class="mono"
                  value={form.url}
                  onInput={(e) => set({ url: e.currentTarget.value })}
                />
              )}
            </Field>
            <Field
              id="entity-timeout"
              label="Timeout (seconds, optional)"
              error={byField['target.timeout_seconds']}
            >
              {(aria) => (
                <input
                  {...aria}
                  type="number"
                  min={1}
                  max={900}
                  value={form.timeout}
                  onInput={(e) => set({ timeout: e.currentTarget.value })}
                />
              )}
            </Field>
          </div>
        )}
        {form.targetType === 'lambda' && (
          <Field id="entity-function" label="Function name or ARN" error={byField['target.function_name']}>
            {(aria) => (
              <input
                {...aria}
                class="mono"
                value={form.functionName}
                onInput={(e) => set({ functionName: e.currentTarget.value })}
              />
            )}
          </Field>
        )}
        <label class="choice">
          <input
            type="checkbox"
            checked={form.isDefault}
            onChange={(e) => set({ isDefault: e.currentTarget.checked })}
          />{' '}
          The deployment's default entity
        </label>
        <div class="actions">
          <button type="submit" class="primary" disabled={save.busy}>
            {entity ? 'Save changes' : 'Create entity'}
          </button>
          {entity && (
            <ConfirmButton
              label="Delete"
              danger
              question={`Delete the entity “${entity.name}”? The service refuses while a job uses it.`}
              confirmLabel="Delete entity"
              onConfirm={async () => {
                if (await remove.run()) navigate(links.entities());
              }}
            />
          )}
        </div>
        <ErrorMessage error={remove.error} />
      </form>
    </section>
  );
}
