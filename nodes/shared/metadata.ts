import type { CampaignClient } from '../../lib/campaign/client';
import type { DataverseClient } from '../../lib/dynamics/client';
import type { SyncRecord } from '../../lib/sync/envelope';
import { OPTION_TYPES, type CampaignField, type DynamicsColumn } from '../../lib/sync/types';
import { readColumn, readLabel } from '../../lib/sync/values';
import { campaignResourcePath } from './methods';

export { checkedAgainstFreshMetadata } from '../../lib/flows/metadata';

export interface SyncColumnsOptions {
	/** Columns whose choices are needed (picklist, state, status and boolean columns among them). */
	choicesFor?: readonly string[];
	/**
	 * The run's records: a choice value or label they carry that the cached choices lack shows the
	 * choices changed since they were read, and they are read again.
	 */
	records?: ReadonlyArray<{ record: SyncRecord }>;
}

/** The first value (with its label) the records carry that `options` do not list as such. */
function choiceNotListed(
	column: string,
	options: ReadonlyArray<{ value: number | boolean; label: string }>,
	records: ReadonlyArray<{ record: SyncRecord }>,
): string | undefined {
	const labels = new Map(options.map((o) => [String(o.value), o.label]));
	for (const { record } of records) {
		const value = readColumn(record, column);
		if (value === null || value === undefined || typeof value === 'object') continue;
		const known = labels.get(String(value));
		const label = readLabel(record._sync.labels, column);
		if (known === undefined || (label !== undefined && label !== known)) {
			return `${String(value)}=${label ?? ''}`;
		}
	}
	return undefined;
}

/**
 * A table's columns as the sync core describes them: types, and the options of the choice columns
 * named in `choicesFor` (booleans as 1/0). Read through the process's metadata cache.
 */
export async function syncColumns(
	client: DataverseClient,
	table: string,
	options: SyncColumnsOptions = {},
): Promise<DynamicsColumn[]> {
	const wanted = new Set(options.choicesFor ?? []);
	const columns = (await client.getColumns(table)).filter((c) => c.readable);
	return await Promise.all(
		columns.map(async (c): Promise<DynamicsColumn> => {
			const info: DynamicsColumn = { logicalName: c.logicalName, attributeType: c.type };
			if (c.displayName) info.displayName = c.displayName;
			if (wanted.has(c.logicalName) && OPTION_TYPES.has(c.type)) {
				let choices = await client.getOptions(table, c.logicalName);
				const unlisted =
					options.records && c.type !== 'Boolean'
						? choiceNotListed(c.logicalName, choices, options.records)
						: undefined;
				if (unlisted) {
					choices = (await client.reloadOptions(table, c.logicalName, unlisted)) ?? choices;
				}
				info.options = choices.map((o) => ({
					value: typeof o.value === 'boolean' ? (o.value ? 1 : 0) : o.value,
					label: o.label,
				}));
			}
			return info;
		}),
	);
}

/** A Campaign resource's fields as the sync core describes them. */
export async function syncCampaignFields(
	client: CampaignClient,
	resource: string,
): Promise<CampaignField[]> {
	const type = await client.resourceType(campaignResourcePath(resource));
	return type.fields.map((f) => ({
		name: f.name,
		type: f.type,
		label: f.label,
		...(f.target ? { target: f.target } : {}),
	}));
}
