import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';

import { dataverseClient } from '../shared/clients';
import { optionName } from '../shared/methods';
import { CONTACT_TABLE } from '../../lib/flows/opt-in-out/reads';

/** The contact's boolean (Yes/No) columns: the only Dynamics fields an opt-out flag can map to. */
export async function getContactBooleanColumns(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const client = await dataverseClient(this);
	const columns = await client.getColumns(CONTACT_TABLE);
	return columns
		.filter((c) => c.type === 'Boolean')
		.map((c) => ({
			name: optionName(c.displayName, c.logicalName),
			value: c.logicalName,
			description: 'Type: Boolean',
		}))
		.sort((a, b) => a.name.localeCompare(b.name));
}
