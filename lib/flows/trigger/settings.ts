/**
 * The Dynamics Trigger's settings, read from the node's parameters (a plain getter, so no n8n
 * types here) and checked before anything is read.
 */
import type { TableInfo } from '../../dynamics/client';
import { SyncSettingsError } from '../../sync/errors';
import type { ChangeDetection } from '../../sync/trigger-state';

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

const PAGE_LIMIT = 5000;

/** A whole-number option within its range, or a settings error naming it. */
function wholeNumber(name: string, raw: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER) {
	const value = raw === undefined || raw === '' ? fallback : Number(raw);
	if (!Number.isInteger(value) || value < 1 || value > max) {
		const range =
			max === Number.MAX_SAFE_INTEGER ? 'at least 1' : `from 1 to ${max.toLocaleString('en-US')}`;
		throw new SyncSettingsError(
			`${name} is ${String(raw)}: it must be a whole number ${range}`,
			undefined,
			max === PAGE_LIMIT ? 'Dataverse returns at most 5,000 records per page.' : undefined,
		);
	}
	return value;
}

export function readTriggerSettings(get: ParameterGetter): TriggerSettings {
	const options = (get('options', {}) ?? {}) as Record<string, unknown>;
	const maxRecordsPerRun = wholeNumber(
		'Options › Max Records per Run',
		options.maxRecordsPerRun,
		5000,
	);
	const pageSize = wholeNumber('Options › Page Size', options.pageSize, 500, PAGE_LIMIT);
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
		compareEveryHours: wholeNumber('Compare Keys Every (Hours)', get('compareEveryHours', 24), 24),
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
