/**
 * The Dynamics Trigger's settings, read from the node's parameters (a plain getter, so no n8n
 * types here) and checked before anything is read.
 */
import type { TableInfo } from '../../dynamics/client';
import { SyncSettingsError } from '../../sync/errors';
import type { ChangeDetection } from '../../sync/trigger-state';
import { wholeNumberSetting } from '../settings';

export interface TriggerSettings {
	table: string;
	columns: string[];
	changeDetection: 'auto' | ChangeDetection;
	replayData: string;
	/** Records per request; never more than `maxRecordsPerRun`. */
	pageSize: number;
	maxRecordsPerRun: number;
	deletesDetection: 'none' | 'compareKeys';
	compareEveryHours: number;
}

/** A node parameter by name, or `fallback` when unset (n8n's `getNodeParameter`). */
export type ParameterGetter = (
	name: string,
	fallback: unknown,
	options?: { extractValue?: boolean },
) => unknown;

export function readTriggerSettings(get: ParameterGetter): TriggerSettings {
	const options = (get('options', {}) ?? {}) as Record<string, unknown>;
	const maxRecordsPerRun = wholeNumberSetting(
		'Options › Max Records per Run',
		options.maxRecordsPerRun,
		{ fallback: 5000 },
	);
	const pageSize = wholeNumberSetting('Options › Page Size', options.pageSize, {
		fallback: 500,
		max: 5000,
		why: 'Dataverse returns at most 5,000 records per page.',
	});
	const table = String(get('table', '', { extractValue: true }) ?? '').trim();
	if (!table) {
		throw new SyncSettingsError(
			'Choose a Dynamics 365 table',
			undefined,
			'The "Dynamics 365 Table" setting is empty.',
		);
	}
	return {
		table,
		columns: (get('columns', []) as string[]) ?? [],
		changeDetection: get('changeDetection', 'auto') as TriggerSettings['changeDetection'],
		replayData: String(get('replayData', '') ?? ''),
		deletesDetection: get('deletesDetection', 'none') === 'compareKeys' ? 'compareKeys' : 'none',
		compareEveryHours: wholeNumberSetting(
			'Compare Keys Every (Hours)',
			get('compareEveryHours', 24),
			{
				fallback: 24,
			},
		),
		// A page is emitted whole, so a page never exceeds what one run may emit.
		pageSize: Math.min(pageSize, maxRecordsPerRun),
		maxRecordsPerRun,
	};
}

/** The change detection in force: Automatic follows the table's change tracking switch. */
export function detectionMode(settings: TriggerSettings, table: TableInfo): ChangeDetection {
	if (settings.changeDetection === 'auto') {
		return table.changeTrackingEnabled ? 'changeTracking' : 'modifiedOn';
	}
	if (settings.changeDetection === 'changeTracking' && !table.changeTrackingEnabled) {
		throw new SyncSettingsError(
			`The Dynamics 365 table "${table.logicalName}" does not have change tracking switched on`,
			undefined,
			'Switch on "Track changes" for the table in Dynamics 365, or set "Change Detection" to "Modified Date" or "Automatic".',
		);
	}
	return settings.changeDetection;
}
