/**
 * Every number the nfnetlink_queue codec uses, named exactly as the kernel's UAPI headers name it, so a
 * reader can grep the header for any of them. Sizes the headers express as `sizeof(struct ...)` are
 * spelled out with the struct's layout beside them. Nothing here is computed at run time except the
 * composite message types at the end, which follow NFNL_SUBSYS_ID()/NFNL_MSG_TYPE() in nfnetlink.h.
 */

export * from '../netlink/constants.js';

// ---- <linux/netfilter/nfnetlink.h> ---------------------------------------------------------------

/** struct nfgenmsg { u8 nfgen_family; u8 version; __be16 res_id } — res_id is the queue number, big-endian. */
export const NFGENMSG_LEN = 4;
export const NFNETLINK_V0 = 0;
export const NFNL_SUBSYS_QUEUE = 3;

// ---- <linux/netfilter/nfnetlink_queue.h> ---------------------------------------------------------

// enum nfqnl_msg_types
export const NFQNL_MSG_PACKET = 0;
export const NFQNL_MSG_VERDICT = 1;
export const NFQNL_MSG_CONFIG = 2;
export const NFQNL_MSG_VERDICT_BATCH = 3;

/** struct nfqnl_msg_packet_hdr { __be32 packet_id; __be16 hw_protocol; u8 hook } __packed. */
export const NFQNL_MSG_PACKET_HDR_LEN = 7;
/** struct nfqnl_msg_packet_timestamp { __aligned_be64 sec; __aligned_be64 usec }. */
export const NFQNL_MSG_PACKET_TIMESTAMP_LEN = 16;
/** struct nfqnl_msg_verdict_hdr { __be32 verdict; __be32 id }. */
export const NFQNL_MSG_VERDICT_HDR_LEN = 8;
/** struct nfqnl_msg_config_cmd { u8 command; u8 _pad; __be16 pf }. */
export const NFQNL_MSG_CONFIG_CMD_LEN = 4;
/** struct nfqnl_msg_config_params { __be32 copy_range; u8 copy_mode } __packed. */
export const NFQNL_MSG_CONFIG_PARAMS_LEN = 5;

// enum nfqnl_attr_type (attributes of packet and verdict messages)
export const NFQA_UNSPEC = 0;
export const NFQA_PACKET_HDR = 1;
export const NFQA_VERDICT_HDR = 2;
export const NFQA_MARK = 3;
export const NFQA_TIMESTAMP = 4;
export const NFQA_IFINDEX_INDEV = 5;
export const NFQA_IFINDEX_OUTDEV = 6;
export const NFQA_IFINDEX_PHYSINDEV = 7;
export const NFQA_IFINDEX_PHYSOUTDEV = 8;
export const NFQA_HWADDR = 9;
export const NFQA_PAYLOAD = 10;
export const NFQA_CT = 11;
export const NFQA_CT_INFO = 12;
export const NFQA_CAP_LEN = 13;
export const NFQA_SKB_INFO = 14;
export const NFQA_EXP = 15;
export const NFQA_UID = 16;
export const NFQA_GID = 17;
export const NFQA_SECCTX = 18;
export const NFQA_VLAN = 19;
export const NFQA_L2HDR = 20;
export const NFQA_PRIORITY = 21;

// enum nfqnl_msg_config_cmds
export const NFQNL_CFG_CMD_NONE = 0;
export const NFQNL_CFG_CMD_BIND = 1;
export const NFQNL_CFG_CMD_UNBIND = 2;
export const NFQNL_CFG_CMD_PF_BIND = 3;
export const NFQNL_CFG_CMD_PF_UNBIND = 4;

// enum nfqnl_config_mode
export const NFQNL_COPY_NONE = 0;
export const NFQNL_COPY_META = 1;
export const NFQNL_COPY_PACKET = 2;

// enum nfqnl_attr_config
export const NFQA_CFG_UNSPEC = 0;
export const NFQA_CFG_CMD = 1;
export const NFQA_CFG_PARAMS = 2;
export const NFQA_CFG_QUEUE_MAXLEN = 3;
export const NFQA_CFG_MASK = 4;
export const NFQA_CFG_FLAGS = 5;

// Flags for NFQA_CFG_FLAGS / NFQA_CFG_MASK
export const NFQA_CFG_F_FAIL_OPEN = 1 << 0;
export const NFQA_CFG_F_CONNTRACK = 1 << 1;
export const NFQA_CFG_F_GSO = 1 << 2;
export const NFQA_CFG_F_UID_GID = 1 << 3;
export const NFQA_CFG_F_SECCTX = 1 << 4;

// Flags for NFQA_SKB_INFO
export const NFQA_SKB_CSUMNOTREADY = 1 << 0;
export const NFQA_SKB_GSO = 1 << 1;
export const NFQA_SKB_CSUM_NOTVERIFIED = 1 << 2;

// ---- <linux/netfilter.h> -------------------------------------------------------------------------

// Verdicts
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NF_STOLEN = 2;
export const NF_QUEUE = 3;
export const NF_REPEAT = 4;
export const NF_STOP = 5;

// enum nf_inet_hooks (the `hook` of a packet message)
export const NF_INET_PRE_ROUTING = 0;
export const NF_INET_LOCAL_IN = 1;
export const NF_INET_FORWARD = 2;
export const NF_INET_LOCAL_OUT = 3;
export const NF_INET_POST_ROUTING = 4;

// ---- Composite nlmsg_type values: (subsystem << 8) | message, per NFNL_SUBSYS_ID / NFNL_MSG_TYPE ----

export const NFQ_TYPE_PACKET = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
export const NFQ_TYPE_VERDICT = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT;
export const NFQ_TYPE_CONFIG = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG;
export const NFQ_TYPE_VERDICT_BATCH = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT_BATCH;
