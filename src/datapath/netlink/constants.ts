/**
 * The generic netlink numbers sluice's netlink codecs share (nfnetlink_queue in ../nfqueue, inet_diag
 * in src/host), named exactly as the kernel's UAPI headers name them, so a reader can grep the header
 * for any of them; sizes the headers give as `sizeof(struct ...)` are spelled out beside their layout.
 */

// ---- <linux/netlink.h> -------------------------------------------------------------------------

/** Protocol number for socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER). */
export const NETLINK_NETFILTER = 12;

/** struct nlmsghdr { u32 nlmsg_len; u16 nlmsg_type; u16 nlmsg_flags; u32 nlmsg_seq; u32 nlmsg_pid } — host byte order. */
export const NLMSG_HDRLEN = 16;
export const NLMSG_ALIGNTO = 4;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
/** On an NLMSG_ERROR: the echoed request was cut to its header (NETLINK_CAP_ACK, or a success ACK). */
export const NLM_F_CAPPED = 0x100;
/** On an NLMSG_ERROR: extended ACK attributes (enum nlmsgerr_attrs) follow (NETLINK_EXT_ACK). */
export const NLM_F_ACK_TLVS = 0x200;

export const NLMSG_NOOP = 0x1;
export const NLMSG_ERROR = 0x2;
export const NLMSG_DONE = 0x3;
export const NLMSG_OVERRUN = 0x4;
export const NLMSG_MIN_TYPE = 0x10;

/** struct nlmsgerr { int error; struct nlmsghdr msg; ... } — error is a negative errno, host order. */
export const NLMSGERR_MIN_LEN = 4 + NLMSG_HDRLEN;
/** enum nlmsgerr_attrs: the extended ACK's error text (NUL-terminated string). */
export const NLMSGERR_ATTR_MSG = 1;

/** Socket options at level SOL_NETLINK (<linux/netlink.h>; SOL_NETLINK itself is in <bits/socket.h>). */
export const SOL_NETLINK = 270;
export const NETLINK_NO_ENOBUFS = 5;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;

/** struct nlattr { u16 nla_len; u16 nla_type } — host byte order; nla_len counts the header, not the padding. */
export const NLA_HDRLEN = 4;
export const NLA_ALIGNTO = 4;
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
/** ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) as a 16-bit mask. */
export const NLA_TYPE_MASK = 0x3fff;

// ---- <bits/socket.h> (address families, as carried in nfgenmsg and nfqnl_msg_config_cmd.pf) --------

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
