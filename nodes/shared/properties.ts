import type { INodeProperties } from 'n8n-workflow';

/** The Dynamics table a node works on; its columns feed the node's other dropdowns. */
export const dynamicsTableProperty: INodeProperties = {
	displayName: 'Microsoft Dynamics 365 Table Name or ID',
	name: 'table',
	type: 'options',
	typeOptions: { loadOptionsMethod: 'getTables' },
	default: '',
	required: true,
	description:
		'The Dynamics 365 table (entity) the records come from. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
};
