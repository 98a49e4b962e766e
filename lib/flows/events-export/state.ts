/**
 * The Email Events Export's state (a Singer-style bookmark), in the node's workflow static data,
 * read and written through the state store (lib/state/store.ts):
 *
 * - `position`: the modification date reading reached and the events handled at that date. It
 *   advances only past events that were handled: exported, skipped, or failed and kept to retry.
 * - `failed`: events that failed and are retried on each run until they are exported (bounded;
 *   when full, the position stops before the next failure instead, so no event is ever passed by).
 */
import type { EventPosition } from '../../campaign/events';
import type { StateBag, StateKind } from '../../state/store';

/** A failed event kept to retry: found again through the event resource's key filter. */
export interface KeptFailure {
	eventId: string;
	reason: string;
	/** Runs that tried it. */
	attempts: number;
	firstFailedAt: string;
}

export interface ExportState {
	/** The Campaign event resource the state belongs to. */
	resource: string;
	position?: EventPosition;
	failed: KeptFailure[];
}

function text(v: unknown): v is string {
	return typeof v === 'string' && v.length > 0;
}

function readState(raw: StateBag, version: number): ExportState {
	const state: ExportState = { resource: String(raw.resource), failed: [] };
	if (version === 1) {
		// Version 1 kept the last event read, (lastModified, eventId), read strictly after. Reading
		// the events at its date again is harmless: writes are upserts.
		const since = (raw.checkpoint as { lastModified?: unknown } | undefined)?.lastModified;
		if (text(since)) state.position = { since, handled: [] };
		return state;
	}
	const p = raw.position as Partial<EventPosition> | undefined;
	if (p && text(p.since) && Array.isArray(p.handled)) {
		state.position = { since: p.since, handled: p.handled.filter(text) };
	}
	if (Array.isArray(raw.failed)) {
		state.failed = (raw.failed as unknown[]).filter(
			(f): f is KeptFailure =>
				!!f && typeof f === 'object' && text((f as Partial<KeptFailure>).eventId),
		);
	}
	return state;
}

export const EXPORT_STATE: StateKind<ExportState> = {
	key: 'emailEventExport',
	version: 2,
	oldest: 1,
	what: "The Email Events Export's saved event position",
	reset: 'Add a new Email Events Export node to start over.',
	read: readState,
};

/**
 * The state for the event resource of the settings: the stored one, or a fresh one (read from the
 * beginning) when there is none or it belongs to another resource (`previous` then tells what was
 * left behind: another resource has its own order).
 */
export function stateFor(
	stored: ExportState | undefined,
	resource: string,
): { state: ExportState; previous?: ExportState } {
	const fresh: ExportState = { resource, failed: [] };
	if (!stored) return { state: fresh };
	if (stored.resource !== resource) return { state: fresh, previous: stored };
	return { state: stored };
}
