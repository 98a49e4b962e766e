import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	CAMPAIGN_CREDENTIAL,
	CAMPAIGN_CREDENTIAL_LABEL,
	DYNAMICS_CREDENTIAL,
	DYNAMICS_CREDENTIAL_LABEL,
} from '../shared/clients';
import {
	getCampaignFields,
	getCampaignKeyFields,
	getCampaignKeyFilters,
	getColumns,
	getPrimaryKey,
	searchCampaignResources,
	searchTables,
} from '../shared/methods';
import {
	campaignResourceLocator,
	dynamicsTableProperty,
	subtitleValue,
} from '../shared/properties';
import { execute } from './execute';

const FIXED_AFTER_FIRST_RUN = 'Fixed once the mapping has run';

export class ApplyFieldMapping implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dynamics Apply Field Mapping',
		name: 'applyFieldMapping',
		icon: { light: 'file:../icons/mapping.svg', dark: 'file:../icons/mapping.dark.svg' },
		group: ['transform'],
		version: 1,
		usableAsTool: true,
		subtitle: `={{${subtitleValue('table')} + " → " + ${subtitleValue('campaignResource')}}}`,
		description:
			'Maps a Microsoft Dynamics 365 table to an Adobe Campaign Standard resource: primary keys, field mappings with Apply updates, and advanced settings',
		defaults: { name: 'Apply Field Mapping' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: DYNAMICS_CREDENTIAL, required: true, displayName: DYNAMICS_CREDENTIAL_LABEL },
			{ name: CAMPAIGN_CREDENTIAL, required: true, displayName: CAMPAIGN_CREDENTIAL_LABEL },
		],
		properties: [
			{
				displayName:
					'Tables and keys are fixed once the mapping has run. To map other tables, delete this chain and add a new one.',
				name: 'tablesNotice',
				type: 'notice',
				default: '',
			},
			{ ...dynamicsTableProperty, hint: FIXED_AFTER_FIRST_RUN },
			campaignResourceLocator({
				displayName: 'Campaign Table',
				name: 'campaignResource',
				required: true,
				description:
					'The Campaign resource the records are written to: profile or a custom resource',
				hint: FIXED_AFTER_FIRST_RUN,
			}),
			{
				// Read-only, as Adobe's mapping screen shows it: the one option is the key detected from
				// the table's metadata when the panel opens; its value '' means "the detected key". A key
				// stored by an older workflow leaves the setting open until it is cleared.
				displayName: 'Dynamics 365 Key Name or ID',
				name: 'dynamicsKey',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getPrimaryKey', loadOptionsDependsOn: ['table.value'] },
				disabledOptions: { show: { dynamicsKey: [''] } },
				default: '',
				hint: 'The primary key of the table, detected from its definition',
				description:
					'The primary key of the Dynamics 365 table. It is read from the table definition and cannot be chosen. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Campaign Key Name or ID',
				name: 'campaignKey',
				type: 'options',
				typeOptions: {
					loadOptionsMethod: 'getCampaignKeyFields',
					loadOptionsDependsOn: ['campaignResource.value'],
				},
				default: '',
				required: true,
				hint: FIXED_AFTER_FIRST_RUN,
				description:
					'The Campaign primary key: the field that holds the Dynamics 365 key (the CRM ID). Records are found by it, so no two Campaign records may share a value. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Campaign Key Filter Name or ID',
				name: 'campaignKeyFilter',
				type: 'options',
				typeOptions: {
					loadOptionsMethod: 'getCampaignKeyFilters',
					loadOptionsDependsOn: ['campaignResource.value', 'campaignKey'],
				},
				default: '',
				description:
					'The Campaign filter that finds records by the Campaign key: one of the resource\'s filters with one parameter, defined in Campaign (a custom filter gets a parameter name of Campaign\'s choosing). "By Name" uses the filter named after the key, e.g. byExternalId for externalId. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Campaign Refuses Duplicate Keys',
				name: 'campaignKeyUnique',
				type: 'boolean',
				default: false,
				description:
					"Whether Campaign itself refuses a second record with the same Campaign key, because a Campaign administrator made it an identification key or gave it a unique index. Campaign's metadata does not say so: turn this on only when you know it. When on, an initial load creates new records without looking each one up first (one request per record instead of two); when off, every record is looked up before it is created, so no duplicate is ever written.",
			},
			{
				displayName: 'Field Mappings',
				name: 'fieldMappings',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				placeholder: 'Add New Field Mapping',
				default: {},
				description:
					'Which Dynamics 365 field fills which Campaign field. The data type of each field is shown in its dropdown.',
				options: [
					{
						displayName: 'Field Mapping',
						name: 'mapping',
						values: [
							{
								displayName: 'Dynamics 365 Field Name or ID',
								name: 'dynamicsField',
								type: 'options',
								typeOptions: {
									loadOptionsMethod: 'getColumns',
									loadOptionsDependsOn: ['table.value'],
								},
								default: '',
								description:
									'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
							},
							{
								displayName: 'Campaign Field Name or ID',
								name: 'campaignField',
								type: 'options',
								typeOptions: {
									loadOptionsMethod: 'getCampaignFields',
									loadOptionsDependsOn: ['campaignResource.value'],
								},
								default: '',
								description:
									'Each Campaign field can be filled by one Dynamics 365 field only. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
							},
							{
								displayName: 'Apply Updates',
								name: 'applyUpdates',
								type: 'boolean',
								default: true,
								description:
									'Whether updates of this field in Dynamics 365 are propagated to Campaign as they occur. When off, the value is written when data is initially loaded or replayed only.',
							},
							{
								displayName: 'Linked Record Key',
								name: 'linkedRecordKey',
								type: 'string',
								default: '',
								placeholder: 'e.g. externalId',
								description:
									"Only for a Campaign field that is a link (e.g. a custom resource's link to the profile), filled from a Dynamics 365 lookup: the field of the linked Campaign resource that holds the Dynamics 365 ID of the looked-up record. The linked record is found by it, through the filter named after it, and linked. Empty: externalId for a link to the profile.",
							},
						],
					},
				],
			},
			{
				displayName: 'Apply Updates for All Fields',
				name: 'applyUpdatesAll',
				type: 'options',
				options: [
					{ name: 'As Set per Field', value: 'perField' },
					{ name: 'All On', value: 'allOn' },
					{ name: 'All Off', value: 'allOff' },
				],
				default: 'perField',
				description: 'Sets every Apply Updates switch at once',
			},
			{
				displayName: 'Advanced Settings',
				name: 'advanced',
				type: 'collection',
				placeholder: 'Add Setting',
				default: {},
				options: [
					{
						displayName: 'Apply Deletes',
						name: 'applyDeletes',
						type: 'boolean',
						default: true,
						description:
							'Whether records deleted in Dynamics 365 are deleted in Campaign (Adobe\'s "Apply deletes in Microsoft Dynamics 365 to Campaign?"). When off, deletions are ignored. Deletions are seen only on tables with change tracking, or where the Dynamics 365 Trigger compares keys (its Deletes Detection setting); a trigger polling by modified date alone sees none.',
					},
					{
						displayName: 'Use Technical Picklist Values',
						name: 'useTechnicalValues',
						type: 'boolean',
						default: false,
						description:
							'Whether the technical value of a Dynamics 365 picklist (e.g. 2) is propagated to Campaign, Adobe\'s "Use technical values in Microsoft Dynamics 365 picklists?". When off, its display value (e.g. Female) is propagated.',
					},
				],
			},
		],
	};

	methods = {
		loadOptions: {
			getColumns,
			getPrimaryKey,
			getCampaignFields,
			getCampaignKeyFields,
			getCampaignKeyFilters,
		},
		listSearch: { searchTables, searchCampaignResources },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await execute.call(this);
	}
}
