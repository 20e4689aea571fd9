/** The firewall rule manager: plan sluice's iptables rules (pure), then install, verify and remove them. */
export * from './types.js';
export { FirewallError, type FirewallErrorCode } from './errors.js';
export { planFirewall, ruleLine, CHAIN_EGRESS, CHAIN_INGRESS, CHAIN_PREFIX, FIREWALL_TABLE, SLUICE_COMMENT } from './plan.js';
export { IptablesFirewall, type IptablesOptions, type FirewallChange } from './iptables.js';
