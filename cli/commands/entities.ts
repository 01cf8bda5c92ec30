import {
  describeTarget,
  type Entity,
  type EntityCreateInput,
  type EntityPatchInput,
  type EntityWithSecret,
} from '../../sdk/index.js';
import { type CommandContext, type CommandSpec, stringOption, UsageError } from '../command.js';
import { type Column, formatRecord, formatTable, formatTime } from '../format.js';
import { readPatch } from './jobs.js';

const ENTITY_COLUMNS: readonly Column<Entity>[] = [
  { header: 'id', value: (entity) => entity.id },
  { header: 'type', value: (entity) => entity.type },
  { header: 'name', value: (entity) => entity.name, max: 40 },
  { header: 'target', value: (entity) => describeTarget(entity.target), max: 60 },
  { header: 'default', value: (entity) => (entity.default ? 'yes' : '') },
  { header: 'created', value: (entity) => formatTime(entity.created_at) },
];

function printEntity(context: CommandContext, entity: Entity | EntityWithSecret, headline: string): void {
  if (context.json) {
    context.printJson(entity);
    return;
  }
  context.print(headline);
  context.print(formatRecord(entity));
  if ('signing_secret' in entity) {
    context.print(
      '\nsigning_secret is shown only in this answer: give it to the target so it can verify the requests it receives.',
    );
  }
}

export const ENTITIES_SUMMARY = 'Manage the agents, teams and workflows jobs run';

export const entityCommands: readonly CommandSpec[] = [
  {
    name: 'entities list',
    args: [],
    summary: 'List entities',
    description: 'Lists every entity: the agents, teams and workflows jobs run, with their targets.',
    options: {},
    examples: ['jobs entities list', 'jobs entities list --json'],
    async run(context) {
      const client = await context.client();
      const entities = await client.entities.list();
      if (context.json) context.printJson(entities);
      else context.print(entities.length === 0 ? 'No entities.' : formatTable(entities, ENTITY_COLUMNS));
      return 0;
    },
  },
  {
    name: 'entities get',
    args: ['<id>'],
    summary: 'Show one entity',
    description: 'Shows every field of an entity.',
    options: {},
    examples: ['jobs entities get agent-uuid'],
    async run(context, { positionals: [id = ''] }) {
      const client = await context.client();
      const entity = await client.entities.get(id);
      context.printRecord(entity);
      return 0;
    },
  },
  {
    name: 'entities create',
    args: [],
    requiredOptions: ['-f <file>'],
    summary: 'Create an entity from a JSON file',
    description:
      'Creates an entity from a JSON object: type (agent, team or workflow), name, target ({"type": "echo"}, ' +
      '{"type": "http", "url": …}, {"type": "lambda", "function_name": …}, {"type": "stepfunctions", ' +
      '"state_machine_arn": …}, {"type": "sqs", "queue_url": …} or {"type": "eventbridge", "event_bus_name": …}), ' +
      'optionally id, description and ' +
      'default. An http target answers with its signing_secret, shown this once.',
    options: {
      file: {
        type: 'string',
        short: 'f',
        value: 'file',
        help: 'The entity as JSON (required); - reads stdin',
      },
    },
    examples: [
      'jobs entities create -f entity.json',
      `echo '{"id":"echo-agent","type":"agent","name":"Echo","target":{"type":"echo"}}' | jobs entities create -f -`,
    ],
    async run(context, { values }) {
      const file = stringOption(values, 'file');
      if (file === undefined) throw new UsageError('-f <file> is required');
      const body = await context.readJsonObject(file, '-f');
      const client = await context.client();
      const entity = await client.entities.create(body as EntityCreateInput);
      printEntity(context, entity, `Created entity ${entity.id}.`);
      return 0;
    },
  },
  {
    name: 'entities update',
    args: ['<id>'],
    summary: 'Change fields of an entity',
    description:
      'Sends a partial update: name, description, target or default. Switching to an http target from another ' +
      'kind issues its signing_secret, shown this once.',
    options: {
      file: {
        type: 'string',
        short: 'f',
        value: 'file',
        help: 'Fields to change as a JSON object; - reads stdin',
      },
      set: {
        type: 'string',
        multiple: true,
        value: 'key=value',
        help: 'Set a top-level field (repeatable): key=text for a string, key:=<json> for anything else; applied after -f',
      },
    },
    examples: [
      'jobs entities update agent-uuid --set name="Health checker"',
      `jobs entities update agent-uuid --set target:='{"type":"http","url":"https://agent.example.com/run"}'`,
    ],
    async run(context, { positionals: [id = ''], values }) {
      const patch = await readPatch(context, values);
      const client = await context.client();
      const entity = await client.entities.update(id, patch as EntityPatchInput);
      printEntity(context, entity, `Updated entity ${entity.id}.`);
      return 0;
    },
  },
  {
    name: 'entities delete',
    args: ['<id>'],
    summary: 'Delete an entity',
    description: 'Deletes an entity; the service refuses (409) while a job uses it.',
    options: {},
    examples: ['jobs entities delete agent-uuid'],
    async run(context, { positionals: [id = ''] }) {
      const client = await context.client();
      await client.entities.delete(id);
      if (context.json) context.printJson({ id, deleted: true });
      else context.print(`Deleted entity ${id}.`);
      return 0;
    },
  },
];
