import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';

import { campaignClient, dataverseClient } from '../shared/clients';
import { currentString, keyFieldOptions, keyFilterOptions, optionName } from '../shared/methods';

/** Columns of the activity table chosen in `tableParameter`, for the column dropdowns. */
async function columnsOfTable(
	ctx: ILoadOptionsFunctions,
	tableParameter: string,
): Promise<INodePropertyOptions[]> {
	const table = currentString(ctx, tableParameter);
	if (!table) return [];
	const client = await dataverseClient(ctx);
	// Helper, virtual and unreadable columns are no properties of the rows: they cannot be written.
	return (await client.getColumns(table))
		.filter((c) => c.readable)
		.map((c) => ({
			name: optionName(c.displayName, c.logicalName),
			value: c.logicalName,
			description: `Type: ${c.type}`,
		}))
		.sort((a, b) => a.name.localeCompare(b.name));
}

/** The columns every activity table has (read from the Email Send table). */
export async function getActivityColumns(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	return await columnsOfTable(this, 'sendTable');
}

export async function getClickColumns(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	return await columnsOfTable(this, 'clickTable');
}

const PROFILE = 'profileAndServicesExt/profile';

/** The profile fields that can hold the contact ID (the Campaign key of contact → profile). */
export async function getProfileKeyFields(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const client = await campaignClient(this);
	return await keyFieldOptions(client, await client.resourceType(PROFILE));
}

/** The profile's one-parameter filters, the one named after the Campaign Profile Key first. */
export async function getProfileKeyFilters(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const client = await campaignClient(this);
	const key = this.getCurrentNodeParameter('profileKey');
	return await keyFilterOptions(
		client,
		await client.resourceType(PROFILE),
		typeof key === 'string' ? key : '',
	);
}
