import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { DYNAMICS_CREDENTIAL } from '../shared/clients';
import { getColumns, getTables } from '../shared/methods';
import { dynamicsTableProperty } from '../shared/properties';
import { execute } from './execute';

export class RecordFilter implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dynamics Record Filter',
		name: 'recordFilter',
		icon: { light: 'file:../icons/sync.svg', dark: 'file:../icons/sync.dark.svg' },
		group: ['transform'],
		version: 1,
		usableAsTool: true,
		subtitle:
			'={{$parameter["rules"]["rule"] ? $parameter["rules"]["rule"].length + " filter(s)" : "no filters"}}',
		description:
			'Chooses which Microsoft Dynamics 365 records are propagated to Campaign, and whether records filtered out are deleted there',
		defaults: { name: 'Record Filter' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: DYNAMICS_CREDENTIAL, required: true }],
		properties: [
			dynamicsTableProperty,
			{
				displayName: 'Filters',
				name: 'rules',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				placeholder: 'Add New Filter',
				default: {},
				description:
					'A record is propagated when the filters evaluate to true. With no filters, every modified record is propagated.',
				options: [
					{
						displayName: 'Filter',
						name: 'rule',
						values: [
							{
								displayName: 'Microsoft Dynamics 365 Field Name or ID',
								name: 'field',
								type: 'options',
								typeOptions: { loadOptionsMethod: 'getColumns', loadOptionsDependsOn: ['table'] },
								default: '',
								description:
									'Any column of the table; it does not need to be mapped. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
							},
							{
								displayName: 'Comparison',
								name: 'comparison',
								type: 'options',
								options: [
									{ name: 'Contains', value: 'contains' },
									{ name: 'Ends With', value: 'endsWith' },
									{ name: 'Equals', value: 'equals' },
									{ name: 'Greater Than', value: 'greater' },
									{ name: 'Greater Than or Equal', value: 'greaterOrEqual' },
									{ name: 'Is Empty', value: 'isEmpty' },
									{ name: 'Is Not Empty', value: 'isNotEmpty' },
									{ name: 'Less Than', value: 'less' },
									{ name: 'Less Than or Equal', value: 'lessOrEqual' },
									{ name: 'Not Equals', value: 'notEquals' },
									{ name: 'Starts With', value: 'startsWith' },
								],
								default: 'equals',
							},
							{
								displayName: 'Value',
								name: 'value',
								type: 'string',
								default: '',
								displayOptions: { hide: { comparison: ['isEmpty', 'isNotEmpty'] } },
								description:
									'A value from Microsoft Dynamics 365: for picklists the technical value (e.g. 2) or its label (e.g. Female); for booleans true or false; dates as 2026-01-31.',
							},
						],
					},
				],
			},
			{
				displayName: 'Choose the Filter Comparison Operator',
				name: 'combinator',
				type: 'options',
				options: [
					{ name: 'And', value: 'and', description: 'All of the filters must be true' },
					{ name: 'Or', value: 'or', description: 'Any one of the filters must be true' },
				],
				default: 'and',
			},
			{
				displayName: 'Delete Records in Campaign That Are Filtered Out',
				name: 'deleteFilteredOut',
				type: 'boolean',
				default: false,
				description:
					'Whether records filtered out from Microsoft Dynamics 365 are deleted in Adobe Campaign Standard. When off, they remain in Campaign.',
			},
		],
	};

	methods = { loadOptions: { getTables, getColumns } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await execute.call(this);
	}
}
