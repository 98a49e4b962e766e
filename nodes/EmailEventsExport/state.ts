/**
 * The Email Events Export's state (a Singer-style bookmark), in the node's workflow static data,
 * read and written only here:
 *
 * - `position`: the modification date reading reached and the events handled at that date. It
 *   advances only past events that were handled: exported, skipped, or failed and kept to retry.
 * - `failed`: events that failed and are retried on each run until they are exported (bounded;
 *   when full, the position stops before the next failure instead, so no event is ever passed by).
 */
import type { IDataObject } from 'n8n-workflow';

import type { EventPosition } from '../../lib/campaign/events';
import { SyncSettingsError } from '../../lib/sync/errors';

export const EXPORT_STATE_VERSION = 2;
/** The key under the node's static data. */
export const EXPORT_STATE_KEY = 'emailEventExport';

/** A failed event kept to retry: found again through the event resource's key filter. */
export interface KeptFailure {
	eventId: string;
	reason: string;
	/** Runs that tried it. */
	attempts: number;
	firstFailedAt: string;
}

export interface ExportState {
	version: typeof EXPORT_STATE_VERSION;
	/** The Campaign event resource the state belongs to. */
	resource: string;
	position?: EventPosition;
	failed: KeptFailure[];
}

/** Version 1 kept the last event read: (lastModified, eventId), read strictly after. */
interface StateV1 {
	version: 1;
	resource: string;
	checkpoint?: { lastModified?: unknown; eventId?: unknown };
}

function text(v: unknown): v is string {
	return typeof v === 'string' && v.length > 0;
}

/**
 * The stored state, or a fresh one (read from the beginning) when there is none, or when it
 * belongs to another resource (`previous` then tells what was left behind).
 */
export function readExportState(
	staticData: IDataObject,
	resource: string,
): { state: ExportState; previous?: ExportState } {
	const fresh: ExportState = { version: EXPORT_STATE_VERSION, resource, failed: [] };
	const stored = staticData[EXPORT_STATE_KEY] as unknown as
		Partial<ExportState> | StateV1 | undefined;
	if (stored === undefined) return { state: fresh };
	let state: ExportState;
	if (stored.version === 1) {
		// Re-reading the events at the old checkpoint's date is harmless: writes are upserts.
		const since = (stored as StateV1).checkpoint?.lastModified;
		state = { ...fresh, resource: String(stored.resource) };
		if (text(since)) state.position = { since, handled: [] };
	} else if (stored.version === EXPORT_STATE_VERSION) {
		const s = stored as Partial<ExportState>;
		state = { ...fresh, resource: String(s.resource) };
		const p = s.position;
		if (p && text(p.since) && Array.isArray(p.handled)) {
			state.position = { since: p.since, handled: p.handled.filter(text) };
		}
		if (Array.isArray(s.failed)) {
			state.failed = s.failed.filter(
				(f): f is KeptFailure => !!f && typeof f === 'object' && text(f.eventId),
			);
		}
	} else {
		throw new SyncSettingsError(
			`The stored event checkpoint has version ${String(stored.version)}, this node reads version ${EXPORT_STATE_VERSION}. Add a new Email Events Export node to start over.`,
		);
	}
	// Another event resource has its own order: its events are read from the beginning.
	if (state.resource !== resource) return { state: fresh, previous: state };
	return { state };
}

export function writeExportState(staticData: IDataObject, state: ExportState): void {
	staticData[EXPORT_STATE_KEY] = JSON.parse(JSON.stringify(state)) as IDataObject;
}
