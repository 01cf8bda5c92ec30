import { useCallback, useMemo, useState } from 'preact/hooks';
import { ConsoleApi, keyStore } from './api.js';
import { ErrorMessage } from './components.js';
import { type Session, SessionContext } from './hooks.js';
import { links, type Route, useRoute } from './router.js';
import { apiBaseUrl } from './routes.js';
import { EntitiesView, EntityView } from './views/entities.js';
import { JobView } from './views/job.js';
import { JobForm } from './views/job-form.js';
import { JobsView } from './views/jobs.js';
import { RunView } from './views/run.js';
import { RunsView } from './views/runs.js';

const baseUrl = apiBaseUrl(location);

/** Asks for the API key; checks it with one cheap call before keeping it. */
function SignIn({ onSignedIn, reason }: { onSignedIn: (api: ConsoleApi) => void; reason: string | null }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const api = new ConsoleApi(baseUrl, key.trim());
    try {
      await api.client.jobs.listPage({ limit: 1 });
      keyStore.save(key.trim());
      onSignedIn(api);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Serverless Jobs</h1>
      <form onSubmit={submit} class="card" aria-labelledby="sign-in-title">
        <h2 id="sign-in-title">Sign in</h2>
        {reason && !error && (
          <p class="notice" role="alert">
            {reason}
          </p>
        )}
        <ErrorMessage error={error} />
        <div class="field">
          <label for="api-key">API key</label>
          <input
            id="api-key"
            type="password"
            autoComplete="off"
            spellcheck={false}
            value={key}
            onInput={(event) => setKey(event.currentTarget.value)}
            required
          />
          <p class="hint">
            Kept in this tab only (session storage) and sent to this service alone. <code>npm start</code>{' '}
            prints the local key.
          </p>
        </div>
        <button type="submit" class="primary" disabled={busy || key.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'jobs':
      return <JobsView query={route.query} />;
    case 'job-new':
      return <JobForm />;
    case 'job':
      return <JobView key={route.jobId} jobId={route.jobId} />;
    case 'job-edit':
      return <JobForm key={route.jobId} jobId={route.jobId} />;
    case 'run':
      return <RunView key={route.executionId} jobId={route.jobId} executionId={route.executionId} />;
    case 'runs':
      return <RunsView query={route.query} />;
    case 'entities':
      return <EntitiesView />;
    case 'entity-new':
      return <EntityView />;
    case 'entity':
      return <EntityView key={route.entityId} entityId={route.entityId} />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            Nothing here. <a href={links.jobs()}>Go to the jobs.</a>
          </p>
        </section>
      );
  }
}

const SECTIONS = [
  { name: 'Jobs', href: links.jobs(), views: ['jobs', 'job', 'job-new', 'job-edit', 'run'] },
  { name: 'Runs', href: links.runs(), views: ['runs'] },
  { name: 'Entities', href: links.entities(), views: ['entities', 'entity', 'entity-new'] },
];

function Shell({ signOut }: { signOut: () => void }) {
  const route = useRoute();
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">Serverless Jobs</span>
        <nav aria-label="Sections">
          <ul>
            {SECTIONS.map((section) => (
              <li key={section.name}>
                <a href={section.href} aria-current={section.views.includes(route.view) ? 'page' : undefined}>
                  {section.name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary small" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <View route={route} />
      </main>
    </>
  );
}

/** The console: sign-in until a key works, then the views. */
export function App() {
  const [api, setApi] = useState<ConsoleApi | null>(() => {
    const key = keyStore.load();
    return key ? new ConsoleApi(baseUrl, key) : null;
  });
  const [reason, setReason] = useState<string | null>(null);
  const signOut = useCallback((why?: string) => {
    keyStore.forget();
    setApi(null);
    setReason(why ?? null);
  }, []);
  const session = useMemo<Session | null>(() => (api ? { api, signOut } : null), [api, signOut]);
  if (!session) {
    return (
      <SignIn
        reason={reason}
        onSignedIn={(signedIn) => {
          setReason(null);
          setApi(signedIn);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell signOut={() => signOut()} />
    </SessionContext.Provider>
  );
}
