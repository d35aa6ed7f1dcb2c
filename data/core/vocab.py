"""Controlled vocabularies: the values stored in the categorical columns.

Stored values are the Chinese terms the police use; the UI translates them for the English switch.
Importers map foreign values onto these lists, and the schema's CHECK constraints enforce them.
"""

from __future__ import annotations

INCIDENT_CATEGORIES = ("刑事", "治安", "交通事故", "纠纷", "群众求助", "火灾", "电信网络诈骗", "其他")

INCIDENT_SUBCATEGORIES = {
    "刑事": ("盗窃", "诈骗", "职务侵占", "故意伤害", "抢劫抢夺", "合同诈骗"),
    "治安": ("打架斗殴", "寻衅滋事", "赌博", "噪音扰民", "损毁财物"),
    "交通事故": ("机动车事故", "电动车事故", "货车事故", "人员受伤事故"),
    "纠纷": ("劳资纠纷", "经济纠纷", "邻里纠纷", "家庭纠纷", "租赁纠纷"),
    "群众求助": ("走失求助", "开锁求助", "咨询", "紧急救助", "物品遗失"),
    "火灾": ("厂房火情", "电气火情", "出租房火情", "车辆火情"),
    "电信网络诈骗": ("刷单返利", "冒充客服", "虚假投资", "冒充公检法"),
    "其他": ("无效报警", "其他警情"),
}

# 1 = 紧急 (urgent), 2 = 较急, 3 = 一般.
PRIORITIES = (1, 2, 3)
PRIORITY_NAMES = {1: "紧急", 2: "较急", 3: "一般"}

CHANNELS = ("110", "民芯对讲", "钉钉群", "来所")
DISPOSITIONS = ("出警", "线上处置", "企业自治化解", "转办")

DISPUTE_TYPES = ("劳资", "经济", "邻里", "婚恋家庭", "交通", "其他")
# Ordered from the lowest level to the highest: a dispute settled further left stayed closer to home.
SETTLED_LEVELS = ("企业内", "园区", "派出所", "调解中心", "诉讼")
IN_HOUSE_LEVELS = ("企业内", "园区")  # 矛盾不出企业: settled inside the enterprise or its park
MEDIATORS = ("企业调解员", "矛盾调处队", "平安大姐工作室", "老兵驿站", "社区民警", "人民调解员", "律师", "法院")
DISPUTE_STATUSES = ("调解中", "已化解", "未化解")

HAZARD_TYPES = ("消防", "用电", "危化品", "生产安全", "三合一住人", "特种设备", "其他")
HAZARD_SEVERITIES = ("一般", "较大", "重大")
HAZARD_STATUSES = ("待整改", "已整改")

# Sectors are data, not vocabulary: the bureau's sector table (schema.Sector, imported by data/intake/registry.py).

USER_ROLES = ("wall", "leader", "analyst", "admin")  # 大屏, 领导, 研判, 管理员 (data/access/roles.py)

TEAM_TYPES = ("安全巡防队", "宣传引导队", "矛盾调处队")

# The classes of the network of units are data: the bureau's network_classes table (its name is the organisation's:
# data/core/organisation.py); the demo's eleven are in data/demo/world.py.

# What each import kind is called on the admin pages and in the templates' file names (data/core/schema.py
# IMPORT_KINDS: events, then reference data).
IMPORT_KIND_NAMES = {"incidents": "警情", "disputes": "矛盾纠纷", "hazards": "安全隐患", "sectors": "行业分类",
                     "network_classes": "网格单位类别", "parks": "园区", "enterprises": "企业名录",
                     "teams": "自治队伍"}

SOURCES_LOCAL = "local"  # rows written by this system (demo, simulator, forms)
