"""The demo province: a provincial centre with 20 agencies, a district branch and a commune point."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from server.auth import hash_password
from server.models import Service, Site
from server.provisioning import (
    create_agency,
    create_counter,
    create_device,
    create_sequence,
    create_service,
    create_site,
    create_user,
)

CENTRE_CODE = "TTHCC"
#: Monday to Friday, 07:30–11:30 and 13:00–17:00 (the lunch break closes receiving).
OFFICE_HOURS = {"days": [0, 1, 2, 3, 4], "periods": [["07:30", "11:30"], ["13:00", "17:00"]]}
#: The same, plus Saturday morning: the agencies citizens most often visit before a working week.
SATURDAY_HOURS = {**OFFICE_HOURS, "by_day": {"5": [["07:30", "11:30"]]}}
SATURDAY_AGENCIES = ("STP", "CA", "BHXH", "BD")
#: The demo takes tickets at any hour (site rule `issue_outside_hours`) so it can be tried in the evening;
#: Administration → Sites → the site's queue rules turns it off (README "Trying the demo").
DEMO_RULES = {"issue_outside_hours": True}
#: Services a new user can book a time for and take a number for today from /book/<site code> (issue 18):
#: service code → places per 15-minute slot. The citizen identifies by a one-time code, which needs a message
#: channel (Administration → Sites → messaging); staff book for a caller on /book/<site code>/staff.
BOOKABLE = {"STP-LLTP": 2, "STP-CT": 2, "CN-HT": 1}

# (code, name, English name, counters, [(service code, name, minutes per citizen), …])
AGENCIES: list[tuple[str, str, str, int, list[tuple[str, str, float]]]] = [
    (
        "STP",
        "Sở Tư pháp",
        "Department of Justice",
        3,
        [
            ("STP-LLTP", "Cấp phiếu lý lịch tư pháp", 5),
            ("STP-CT", "Chứng thực bản sao, chữ ký", 3),
            ("STP-HT", "Hộ tịch có yếu tố nước ngoài", 10),
            ("STP-QT", "Quốc tịch", 12),
        ],
    ),
    (
        "STC",
        "Sở Tài chính",
        "Department of Finance",
        3,
        [("STC-DKKD", "Đăng ký doanh nghiệp", 8), ("STC-DT", "Dự án đầu tư", 15), ("STC-NS", "Ngân sách, giá", 10)],
    ),
    (
        "SXD",
        "Sở Xây dựng",
        "Department of Construction",
        3,
        [
            ("SXD-GPXD", "Cấp giấy phép xây dựng", 12),
            ("SXD-GPLX", "Đổi, cấp lại giấy phép lái xe", 5),
            ("SXD-VT", "Vận tải, phương tiện", 8),
        ],
    ),
    (
        "SNNMT",
        "Sở Nông nghiệp và Môi trường",
        "Department of Agriculture and Environment",
        3,
        [
            ("SNNMT-DD", "Đất đai", 12),
            ("SNNMT-MT", "Môi trường, tài nguyên nước", 10),
            ("SNNMT-NN", "Trồng trọt, chăn nuôi, thú y", 8),
        ],
    ),
    (
        "SNV",
        "Sở Nội vụ",
        "Department of Home Affairs",
        2,
        [("SNV-LD", "Lao động, việc làm", 8), ("SNV-NCC", "Người có công", 10), ("SNV-TG", "Thi đua, khen thưởng", 8)],
    ),
    (
        "SKHCN",
        "Sở Khoa học và Công nghệ",
        "Department of Science and Technology",
        2,
        [("SKHCN-KH", "Khoa học, công nghệ", 10), ("SKHCN-VT", "Viễn thông, báo chí, xuất bản", 8)],
    ),
    (
        "SCT",
        "Sở Công Thương",
        "Department of Industry and Trade",
        2,
        [
            ("SCT-TM", "Thương mại, xúc tiến", 8),
            ("SCT-ATTP", "An toàn thực phẩm", 8),
            ("SCT-DL", "Điện lực, năng lượng", 10),
        ],
    ),
    (
        "SYT",
        "Sở Y tế",
        "Department of Health",
        2,
        [("SYT-HN", "Chứng chỉ hành nghề khám chữa bệnh", 10), ("SYT-DUOC", "Dược, mỹ phẩm", 8)],
    ),
    (
        "SGDDT",
        "Sở Giáo dục và Đào tạo",
        "Department of Education and Training",
        2,
        [("SGDDT-VB", "Văn bằng, chứng chỉ", 5), ("SGDDT-CS", "Thành lập cơ sở giáo dục", 12)],
    ),
    (
        "SVHTTDL",
        "Sở Văn hóa, Thể thao và Du lịch",
        "Department of Culture, Sports and Tourism",
        2,
        [("SVHTTDL-DL", "Lữ hành, lưu trú du lịch", 8), ("SVHTTDL-VH", "Văn hóa, nghệ thuật, quảng cáo", 8)],
    ),
    (
        "SDTTG",
        "Sở Dân tộc và Tôn giáo",
        "Department of Ethnic and Religious Affairs",
        1,
        [("SDTTG-TG", "Tín ngưỡng, tôn giáo", 10)],
    ),
    (
        "SNGV",
        "Sở Ngoại vụ",
        "Department of Foreign Affairs",
        1,
        [("SNGV-HN", "Hội nghị, hội thảo quốc tế", 10), ("SNGV-XC", "Xuất cảnh công vụ", 8)],
    ),
    (
        "CA",
        "Công an tỉnh",
        "Provincial Police",
        3,
        [
            ("CA-XNC", "Xuất nhập cảnh, hộ chiếu", 6),
            ("CA-CC", "Căn cước, cư trú", 5),
            ("CA-PCCC", "Phòng cháy chữa cháy", 10),
        ],
    ),
    (
        "THUE",
        "Thuế tỉnh",
        "Provincial Tax Office",
        3,
        [("THUE-DK", "Đăng ký thuế", 6), ("THUE-KK", "Kê khai, nộp thuế", 6), ("THUE-HD", "Hóa đơn", 5)],
    ),
    (
        "BHXH",
        "Bảo hiểm xã hội tỉnh",
        "Provincial Social Insurance",
        3,
        [("BHXH-ST", "Sổ bảo hiểm xã hội", 6), ("BHXH-YT", "Thẻ bảo hiểm y tế", 4), ("BHXH-CD", "Chế độ, trợ cấp", 10)],
    ),
    (
        "VPDKDD",
        "Văn phòng Đăng ký đất đai",
        "Land Registration Office",
        3,
        [
            ("VPDKDD-CN", "Đăng ký, cấp giấy chứng nhận", 12),
            ("VPDKDD-BD", "Đăng ký biến động", 10),
            ("VPDKDD-TC", "Cung cấp thông tin đất đai", 5),
        ],
    ),
    (
        "BQLKCN",
        "Ban Quản lý các khu công nghiệp",
        "Industrial Zones Authority",
        1,
        [("BQLKCN-DT", "Đầu tư trong khu công nghiệp", 15), ("BQLKCN-LD", "Lao động nước ngoài", 8)],
    ),
    ("DL", "Công ty Điện lực tỉnh", "Provincial Power Company", 1, [("DL-CD", "Cấp điện, hợp đồng mua bán điện", 8)]),
    (
        "BD",
        "Bưu điện tỉnh",
        "Provincial Post",
        2,
        [("BD-TKQ", "Trả kết quả, chuyển phát", 3), ("BD-NH", "Nhận hồ sơ qua bưu chính", 4)],
    ),
    (
        "KBNN",
        "Kho bạc Nhà nước khu vực",
        "State Treasury",
        1,
        [("KBNN-TK", "Mở, sử dụng tài khoản", 8), ("KBNN-CT", "Kiểm soát chi", 10)],
    ),
]

DEMO_PASSWORDS = {"admin": "demo-admin", "manager": "demo-manager", "clerk": "demo-clerk"}


@dataclass(frozen=True)
class DemoDevice:
    name: str
    kind: str
    token: str
    path: str


DEMO_DEVICES: list[DemoDevice] = [
    DemoDevice("Kiosk sảnh chính", "kiosk", "demo-kiosk-1", "/kiosk/?token=demo-kiosk-1"),
    DemoDevice("Kiosk cửa phụ", "kiosk", "demo-kiosk-2", "/kiosk/?token=demo-kiosk-2"),
    DemoDevice("Màn hình tổng sảnh", "board", "demo-board-hall", "/display/?token=demo-board-hall"),
    DemoDevice("Màn hình khu Công an – Thuế – BHXH", "board", "demo-board-east", "/display/?token=demo-board-east"),
    DemoDevice("Màn hình quầy 1", "counter_display", "demo-counter-1", "/display/counter?token=demo-counter-1"),
    DemoDevice("Máy đánh giá quầy 1", "rating", "demo-rating-1", "/counter/rating?token=demo-rating-1"),
]


def seed_demo(session: Session) -> bool:
    """Creates the demo province once; returns False if it is there already."""
    if session.exec(select(Site).where(Site.code == CENTRE_CODE)).first() is not None:
        return False
    centre = create_site(session, CENTRE_CODE, "Trung tâm Phục vụ hành chính công tỉnh", "centre", **DEMO_RULES)
    counter_number = 1
    clerk_hash = hash_password(DEMO_PASSWORDS["clerk"])
    east = []
    for index, (code, name, name_en, counters, services) in enumerate(AGENCIES, start=1):
        agency = create_agency(session, centre, code, name, name_en, floor="Tầng 1", sort_order=index)
        if code in ("CA", "THUE", "BHXH"):
            east.append(agency.id)
        sequence = create_sequence(session, centre, code, "", index * 1000 + 1, index * 1000 + 999)
        created = []
        hours = SATURDAY_HOURS if code in SATURDAY_AGENCIES else OFFICE_HOURS
        for order, (service_code, service_name, minutes) in enumerate(services):
            cap = 50 if service_code == "STP-QT" else None
            created.append(
                create_service(
                    session,
                    agency,
                    service_code,
                    service_name,
                    sequence=sequence,
                    default_service_minutes=minutes,
                    opening_hours=hours,
                    daily_cap=cap,
                    target_wait_minutes=15,
                    target_service_minutes=max(20, int(minutes * 2)),
                    sort_order=order,
                )
            )
        for _ in range(counters):
            create_counter(session, centre, counter_number, created, floor="Tầng 1")
            create_user(
                session,
                f"clerk{counter_number:02d}",
                DEMO_PASSWORDS["clerk"],
                "clerk",
                centre,
                full_name=f"Cán bộ quầy {counter_number}",
                password_hash=clerk_hash,
            )
            counter_number += 1
    create_user(session, "admin", DEMO_PASSWORDS["admin"], "admin", None, full_name="Quản trị hệ thống")
    create_user(session, "manager", DEMO_PASSWORDS["manager"], "manager", centre, full_name="Lãnh đạo Trung tâm")
    for device in DEMO_DEVICES:
        settings: dict = {}
        if device.token == "demo-board-east":
            settings = {"agency_ids": east, "rows": 6}
        if device.kind == "kiosk":
            settings = {"printer": "", "layout": "ticket_80mm"}
        if device.kind in ("counter_display", "rating"):
            settings = {"counter_id": 1}
        create_device(session, centre, device.kind, device.name, device.token, **settings)
    _seed_branches(session)
    _open_bookings(session)
    return True


def _open_bookings(session: Session) -> None:
    for service in session.exec(select(Service).where(Service.code.in_(list(BOOKABLE)))).all():  # type: ignore[attr-defined]
        service.bookable = service.online_numbers = True
        service.slot_capacity = BOOKABLE[service.code]
        session.add(service)
    session.flush()


def _seed_branches(session: Session) -> None:
    branch = create_site(
        session, "CN-DONGSON", "Chi nhánh Trung tâm Phục vụ hành chính công huyện Đông Sơn", "branch", **DEMO_RULES
    )
    agency = create_agency(session, branch, "UBND", "Ủy ban nhân dân huyện", "District People's Committee")
    land = create_service(
        session, agency, "CN-DD", "Đất đai", first=1, last=999, default_service_minutes=10, opening_hours=SATURDAY_HOURS
    )
    civil = create_service(
        session,
        agency,
        "CN-HT",
        "Hộ tịch, chứng thực",
        first=2001,
        last=2999,
        default_service_minutes=5,
        opening_hours=SATURDAY_HOURS,
    )
    create_counter(session, branch, 1, [land, civil])
    create_counter(session, branch, 2, [civil])
    create_device(session, branch, "kiosk", "Kiosk chi nhánh", "demo-kiosk-dongson")
    point = create_site(session, "XA-DONGTHINH", "Điểm tiếp nhận xã Đông Thịnh", "point", **DEMO_RULES)
    commune = create_agency(session, point, "UBNDX", "Ủy ban nhân dân xã", "Commune People's Committee")
    general = create_service(
        session, commune, "XA-TN", "Tiếp nhận và trả kết quả", first=1, last=500, opening_hours=OFFICE_HOURS
    )
    create_counter(session, point, 1, [general])
    hashed = hash_password(DEMO_PASSWORDS["clerk"])
    for site, username, number in ((branch, "dongson01", 1), (branch, "dongson02", 2), (point, "dongthinh01", 1)):
        create_user(
            session, username, "", "clerk", site, full_name=f"Cán bộ {site.code} quầy {number}", password_hash=hashed
        )
