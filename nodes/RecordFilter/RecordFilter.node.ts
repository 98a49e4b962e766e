import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { DYNAMICS_CREDENTIAL, DYNAMICS_CREDENTIAL_LABEL } from '../shared/clients';
import { getColumns, searchTables } from '../shared/methods';
import { dynamicsTableProperty } from '../shared/properties';
import { execute } from './execute';

/** How many filters the node has, in its subtitle. */
const FILTERS = '(($parameter["rules"] || {})["rule"] || []).length';

export class RecordFilter implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dynamics Record Filter',
		name: 'recordFilter',
		icon: { light: 'file:../icons/filter.svg', dark: 'file:../icons/filter.dark.svg' },
		group: ['transform'],
		version: 1,
		usableAsTool: true,
		subtitle: `={{${FILTERS} === 0 ? "No Filters" : ${FILTERS} === 1 ? "1 Filter" : ($parameter["combinator"] === "or" ? "Any of " : "All of ") + ${FILTERS} + " Filters"}}`,
		description:
			'Chooses which Microsoft Dynamics 365 records are propagated to Adobe Campaign Standard, and whether records filtered out are deleted there',
		defaults: { name: 'Record Filter' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: DYNAMICS_CREDENTIAL, required: true, displayName: DYNAMICS_CREDENTIAL_LABEL },
		],
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
								displayName: 'Dynamics 365 Field Name or ID',
								name: 'field',
								type: 'options',
								typeOptions: {
									loadOptionsMethod: 'getColumns',
									loadOptionsDependsOn: ['table.value'],
								},
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
									'A value from Dynamics 365: for picklists the technical value (e.g. 2) or its label (e.g. Female); for booleans true or false; dates as 2026-01-31.',
							},
						],
					},
				],
			},
			{
				// Adobe's "filter comparison operator" And/Or, worded as n8n's Data Table and Notion nodes
				// word it (n8n-io/n8n-docs docs/integrations/creating-nodes/plan/node-ui-design.md,
				// "Boolean operators": all or any, as separate options).
				displayName: 'Must Match',
				name: 'combinator',
				type: 'options',
				options: [
					{
						name: 'All Filters',
						value: 'and',
						description: 'A record is propagated when every filter is true (And)',
					},
					{
						name: 'Any Filter',
						value: 'or',
						description: 'A record is propagated when at least one filter is true (Or)',
					},
				],
				default: 'and',
				description: 'How the filters combine: all of them (And) or any one of them (Or)',
			},
			{
				displayName: 'Delete Filtered-Out Records',
				name: 'deleteFilteredOut',
				type: 'boolean',
				default: false,
				description:
					'Whether records that the filters leave out are deleted in Campaign. When off, they remain there.',
			},
		],
	};

	methods = { loadOptions: { getColumns }, listSearch: { searchTables } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await execute.call(this);
	}
}
