/**
 * The Email Events Export's state (a Singer-style bookmark): where reading Campaign's event
 * records stopped. A typed, versioned object in the node's workflow static data, read and written
 * only here. It advances only past events that were handled: exported, skipped by type, or
 * reported as failed.
 */
import type { IDataObject } from 'n8n-workflow';

import type { EventCheckpoint } from '../../lib/campaign/client';
import { SyncSettingsError } from '../../lib/sync/errors';

export const EXPORT_STATE_VERSION = 1;
/** The key under the node's static data. */
export const EXPORT_STATE_KEY = 'emailEventExport';

export interface ExportState {
	version: typeof EXPORT_STATE_VERSION;
	/** The Campaign event resource the checkpoint belongs to. */
	resource: string;
	/** The last handled event, in Campaign's (lastModified, eventId) order. */
	checkpoint?: EventCheckpoint;
}

/** The stored state, or a fresh one (read from the beginning) when there is none. */
export function readExportState(staticData: IDataObject, resource: string): ExportState {
	const stored = staticData[EXPORT_STATE_KEY] as Partial<ExportState> | undefined;
	if (stored === undefined) return { version: EXPORT_STATE_VERSION, resource };
	if (stored.version !== EXPORT_STATE_VERSION) {
		throw new SyncSettingsError(
			`The stored event checkpoint has version ${String(stored.version)}, this node reads version ${EXPORT_STATE_VERSION}. Add a new Email Events Export node to start over.`,
		);
	}
	if (stored.resource !== resource) {
		// Another event resource has its own order: its events are read from the beginning.
		return { version: EXPORT_STATE_VERSION, resource };
	}
	const state: ExportState = { version: EXPORT_STATE_VERSION, resource };
	const c = stored.checkpoint;
	if (c && typeof c.lastModified === 'string' && typeof c.eventId === 'string') {
		state.checkpoint = { lastModified: c.lastModified, eventId: c.eventId };
	}
	return state;
}

export function writeExportState(staticData: IDataObject, state: ExportState): void {
	staticData[EXPORT_STATE_KEY] = { ...state } as unknown as IDataObject;
}
