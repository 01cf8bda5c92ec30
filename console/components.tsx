import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type ErrorDetail, type ExecutionStatus, JobError } from '../sdk/browser.js';
import { formatInstant, formatRelative } from './format.js';

/** Each status has its own icon and words, so colour is never the only difference. */
export const STATUS_LOOK: Record<ExecutionStatus, { icon: string; label: string }> = {
  queued: { icon: '◷', label: 'queued' },
  running: { icon: '▶', label: 'running' },
  succeeded: { icon: '✓', label: 'succeeded' },
  failed: { icon: '✕', label: 'failed' },
  timed_out: { icon: '⧗', label: 'timed out' },
  cancelled: { icon: '⊘', label: 'cancelled' },
  skipped: { icon: '↷', label: 'skipped' },
};

export function StatusBadge({ status }: { status: ExecutionStatus }) {
  const look = STATUS_LOOK[status] ?? { icon: '?', label: status };
  return (
    <span class={`status status-${status}`}>
      <span aria-hidden="true">{look.icon}</span> {look.label}
    </span>
  );
}

/** A boolean as a word with a mark, never colour alone. */
export function EnabledBadge({ enabled }: { enabled: boolean }) {
  return (
    <span class={enabled ? 'flag flag-on' : 'flag flag-off'}>
      <span aria-hidden="true">{enabled ? '●' : '○'}</span> {enabled ? 'enabled' : 'disabled'}
    </span>
  );
}

/** An instant in the viewer's zone (and, when given, another zone), with how long ago it was. */
export function Instant({ iso, zone, now }: { iso: string | null | undefined; zone?: string; now?: number }) {
  if (!iso) return <span class="muted">—</span>;
  const local = formatInstant(iso);
  const relative = now === undefined ? '' : formatRelative(iso, now);
  return (
    <span class="instant">
      <time dateTime={iso} title={iso}>
        {local}
      </time>
      {relative && <span class="muted"> ({relative})</span>}
      {zone && zone !== Intl.DateTimeFormat().resolvedOptions().timeZone && (
        <span class="muted block">
          {formatInstant(iso, zone)} in {zone}
        </span>
      )}
    </span>
  );
}

/** What went wrong, with each field problem the service named; read out as soon as it appears. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const details = error instanceof JobError ? error.details : [];
  return (
    <div class="error-box" role="alert">
      {title && <strong>{title} </strong>}
      {message}
      {details.length > 0 && (
        <ul>
          {details.map((detail, index) => (
            <li key={index}>{detail.path ? `${detail.path}: ${detail.message}` : detail.message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** An empty list, saying what to do next. */
export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/** Copies `text`; says so in a live region, so screen readers hear it too. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <span class="copy">
      <button type="button" class="secondary small" onClick={copy}>
        {label}
      </button>
      <span aria-live="polite" class="muted">
        {state === 'copied' ? ' Copied.' : state === 'failed' ? ' Copy failed: select the text instead.' : ''}
      </span>
    </span>
  );
}

/** A secret the service shows only once: the value, a copy button and a warning. */
export function SecretOnce({ label, value }: { label: string; value: string }) {
  const id = `secret-${label.toLowerCase().replace(/\W+/g, '-')}`;
  return (
    <div class="secret" role="status">
      <label for={id}>{label}</label>
      <input id={id} class="mono" readOnly value={value} onFocus={(event) => event.currentTarget.select()} />
      <CopyButton text={value} label={`Copy ${label.toLowerCase()}`} />
      <p class="hint">Shown only this once: copy it now and keep it somewhere safe.</p>
    </div>
  );
}

/**
 * A button that asks first, in a modal `<dialog>` (focus moves into it, Escape cancels, focus returns
 * to the button afterwards).
 */
export function ConfirmButton(props: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => void | Promise<void>;
  danger?: boolean;
  disabled?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const titleId = useRef(`confirm-${Math.random().toString(36).slice(2)}`).current;
  const close = () => {
    dialog.current?.close();
    opener.current?.focus();
  };
  return (
    <>
      <button
        type="button"
        ref={opener}
        class={props.danger ? 'danger' : 'secondary'}
        disabled={props.disabled}
        onClick={() => dialog.current?.showModal()}
      >
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => opener.current?.focus()}>
        <p id={titleId}>{props.question}</p>
        <div class="actions">
          <button type="button" class="secondary" onClick={close}>
            Keep it
          </button>
          <button
            type="button"
            class={props.danger ? 'danger' : 'primary'}
            onClick={async () => {
              close();
              await props.onConfirm();
            }}
          >
            {props.confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

/** Field problems keyed by the form field they belong to; the rest are the form's own. */
export function splitErrors(
  error: unknown,
  fields: readonly string[],
): { byField: Record<string, string>; rest: ErrorDetail[] } {
  const byField: Record<string, string> = {};
  const rest: ErrorDetail[] = [];
  if (!(error instanceof JobError)) return { byField, rest };
  const longestFirst = [...fields].sort((a, b) => b.length - a.length);
  for (const detail of error.details) {
    const field = longestFirst.find((name) => detail.path === name || detail.path.startsWith(`${name}.`));
    if (field === undefined) {
      rest.push(detail);
      continue;
    }
    const inner = detail.path.slice(field.length + 1);
    const text = inner ? `${inner}: ${detail.message}` : detail.message;
    byField[field] = byField[field] ? `${byField[field]}; ${text}` : text;
  }
  return { byField, rest };
}

/** A labelled form control with its hint and its error, wired with `aria-describedby`/`aria-invalid`. */
export function Field(props: {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: ComponentChildren;
  children: (aria: {
    id: string;
    'aria-describedby'?: string;
    'aria-invalid'?: boolean;
  }) => ComponentChildren;
}) {
  const described = [props.hint ? `${props.id}-hint` : '', props.error ? `${props.id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={props.id}>{props.label}</label>
      {props.children({
        id: props.id,
        ...(described && { 'aria-describedby': described }),
        ...(props.error && { 'aria-invalid': true }),
      })}
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="field-error" id={`${props.id}-error`}>
          <span aria-hidden="true">✕ </span>
          {props.error}
        </p>
      )}
    </div>
  );
}

/** "Updated 12:03:04": when a live list last refreshed. */
export function LiveNote({ updatedAt }: { updatedAt: number | null }) {
  if (updatedAt === null) return null;
  return (
    <p class="live muted">
      <span aria-hidden="true">⟳ </span>Live · updated {new Date(updatedAt).toLocaleTimeString()}
    </p>
  );
}

/** Moves focus to a view's heading when it opens, so keyboard and screen reader users start there. */
export function useFocusHeading(key: string) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
  }, [key]);
  return heading;
}

/**
 * Moves to a section of the same view and focuses its first field. A button, not a `#fragment` link:
 * the fragment holds the console's route.
 */
export function JumpButton(props: { targetId: string; class: string; children: ComponentChildren }) {
  return (
    <button
      type="button"
      class={props.class}
      onClick={() => {
        const target = document.getElementById(props.targetId);
        target?.scrollIntoView({ block: 'start' });
        target?.querySelector<HTMLElement>('input, textarea, select, button')?.focus();
      }}
    >
      {props.children}
    </button>
  );
}
