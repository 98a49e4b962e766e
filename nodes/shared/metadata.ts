import type { CampaignClient } from '../../lib/campaign/client';
import type { DataverseClient } from '../../lib/dynamics/client';
import type { CampaignFieldInfo, ColumnInfo } from '../../lib/sync/types';
import { campaignResourcePath } from './methods';

const CHOICE_COLUMN_TYPES = new Set(['Picklist', 'State', 'Status', 'Boolean']);

/**
 * A table's columns as the sync core describes them: types, and the options of picklist, state,
 * status and boolean columns (booleans as 1/0), read once per run through the client's cache.
 */
export async function syncColumns(
	client: DataverseClient,
	table: string,
	options: { withChoices?: boolean } = {},
): Promise<ColumnInfo[]> {
	const columns = (await client.getColumns(table)).filter((c) => c.readable);
	return await Promise.all(
		columns.map(async (c): Promise<ColumnInfo> => {
			const info: ColumnInfo = { logicalName: c.logicalName, attributeType: c.type };
			if (c.displayName) info.displayName = c.displayName;
			if (options.withChoices && CHOICE_COLUMN_TYPES.has(c.type)) {
				const choices = await client.getOptions(table, c.logicalName);
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
): Promise<CampaignFieldInfo[]> {
	const type = await client.resourceType(campaignResourcePath(resource));
	return type.fields.map((f) => ({ name: f.name, type: f.type, label: f.label }));
}
