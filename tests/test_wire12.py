"""TLS 1.2 handshake messages (glasstls.wire.handshake12): round trips of every message,
real OpenSSL 3.0 messages (ServerKeyExchange and ClientKeyExchange for ECDHE and DHE,
their signatures checked against the captured certificates), every truncation and trailing
byte → decode_error, non-named curves → illegal_parameter, unknown code points kept.
"""

from __future__ import annotations

import contextlib
import copy

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.enums import (
    AlertDescription,
    CertificateStatusType,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    SignatureScheme,
)
from glasstls.errors import AlertError, DecodeError
from glasstls.wire import extensions as X
from glasstls.wire.codec import Reader, Writer
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import (
    CertificateVerify,
    ClientHello,
    Finished,
    Handshake,
    ServerHello,
    decode_message,
)
from glasstls.wire.handshake12 import (
    TLS12_PARSERS,
    Certificate12,
    CertificateRequest12,
    CertificateStatus,
    ClientCertificateType,
    ClientKeyExchange,
    ECCurveType,
    HelloRequest,
    NewSessionTicket12,
    ServerDHParams,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
    dhe_params_bytes,
    ecdhe_params_bytes,
)

# -- real messages from OpenSSL 3.0.22 ------------------------------------------------------
#
# Captured once, on 127.0.0.1, from the hex dumps of `openssl s_client -msg` (decrypted
# handshake messages, 4-byte header included):
#
# ECDSA_*: a P-256 leaf (CN=localhost) issued by a P-256 CA (CN=glasstls-test-ca), and an OCSP
# response for it made with `openssl ocsp -index index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem
# -issuer ca.pem -cert leaf.pem -respout resp.der -ndays 1 -resp_no_certs`;
#   openssl s_server -accept 127.0.0.1:PORT -tls1_2 -cert leaf.pem -key leaf.key -cert_chain ca.pem
#       -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -groups X25519 -status_file resp.der -naccept 1
#   openssl s_client -connect 127.0.0.1:PORT -tls1_2 -status -msg
#
# DHE_*, P256_*, RSA_CKE: one self-signed RSA-2048 certificate (CN=localhost), used by the server
# and, with client authentication (-verify 1), by the client:
#   openssl s_server -accept 127.0.0.1:PORT -tls1_2 -cert cert.pem -key key.pem -cipher CIPHER
#       -naccept 1 -verify 1 [-groups P-256]
#   openssl s_client -connect 127.0.0.1:PORT -tls1_2 -cipher CIPHER -cert cert.pem -key key.pem -msg
# with CIPHER DHE-RSA-AES128-GCM-SHA256 (DHE_*; OpenSSL's automatic 2048-bit MODP group of
# RFC 3526), ECDHE-RSA-AES128-GCM-SHA256 with -groups P-256 (P256_*), AES128-GCM-SHA256 (RSA_CKE).
# The client sent the same Certificate message as the server (DHE_CERT).

# ECDHE_ECDSA capture
ECDSA_CH = bytes.fromhex(
    "010000bc03031e7f17c5e860d70b24ad3cc511cf61c296a85e386323a14f18c2f6e4b7e71061000038c02cc030009fcca9cc"
    "a8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000"
    "5b000b000403000102000a000c000a001d0017001e00190018002300000005000501000000000016000000170000000d002a"
    "0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602"
)
ECDSA_SH = bytes.fromhex(
    "020000410303160b48a3c4825b3633cc90fab0608e64f95b99b1867c2bde21fe07fc0a24212100c02b000019ff0100010000"
    "0b000403000102002300000005000000170000"
)
ECDSA_CERT = bytes.fromhex(
    "0b0002d10002ce00012c308201283081d0021474bc97417d832b90498de631fd731ff10bf0adc8300a06082a8648ce3d0403"
    "02301b3119301706035504030c10676c617373746c732d746573742d6361301e170d3236313132323132343433315a170d32"
    "36313232323132343433315a30143112301006035504030c096c6f63616c686f73743059301306072a8648ce3d020106082a"
    "8648ce3d03010703420004572d9e9a1fadfedbbffab2c845dc97a32aaa1e1301fdc1094a4725081297f91898407c93e5a4b6"
    "d8a6829ae15eff09217e0e76c0b3b82b421868200ad301a0d4300a06082a8648ce3d0403020347003044022071e8568423ff"
    "bf7008f9d1827b29e737e1fbf940c5d7fe9acc87a4846d43776102202d4d8e286a2db7732342172b521996e8b9f2f2ed7565"
    "b2a9abc4628b04ddd2f700019c308201983082013ea00302010202146a366f9bd4146f9f53762ae03b2d8df654bcf9a5300a"
    "06082a8648ce3d040302301b3119301706035504030c10676c617373746c732d746573742d6361301e170d32363131323231"
    "32343433315a170d3236313232323132343433315a301b3119301706035504030c10676c617373746c732d746573742d6361"
    "3059301306072a8648ce3d020106082a8648ce3d0301070342000431473e1214461dfa21791e8eef9c8071284f7e617f195c"
    "1583c7176ee4e08d1c115b3d418154bad1e706be176328a9e96cbb8a7b367ca099280ae3ea43c5cb38a360305e301d060355"
    "1d0e041604147cf3dd0bc3977b8467a0788fb8fb0a35289576ca301f0603551d230418301680147cf3dd0bc3977b8467a078"
    "8fb8fb0a35289576ca300f0603551d130101ff040530030101ff300b0603551d0f040403020186300a06082a8648ce3d0403"
    "020348003045022100aed9630311d87ba56000af41a526c04e838fc6f802fe01263ec2cfcd13f9822202202b780ea172d6c8"
    "022c9f5b3e88b6600333d43a6c549b6fcc308a469c197fcb02"
)
ECDSA_STATUS = bytes.fromhex(
    "1600014e0100014a308201460a0100a082013f3082013b06092b06010505073001010482012c308201283081cea11d301b31"
    "19301706035504030c10676c617373746c732d746573742d6361180f32303236313132323132343433315a30773075304d30"
    "0906052b0e03021a0500041444866ebaf2855e9d6baa0afdd980d0d2333bb1d104147cf3dd0bc3977b8467a0788fb8fb0a35"
    "289576ca021474bc97417d832b90498de631fd731ff10bf0adc88000180f32303236313132323132343433315aa011180f32"
    "303236313132333132343433315aa1233021301f06092b0601050507300102041204105afa900a33b4ba276781322e809ec1"
    "69300a06082a8648ce3d0403020349003046022100d6669fdc1db17b00f6184f25761ffd87f049860284537d3ec40f15a8b1"
    "5d9b44022100efdf460c298b9e8d97a4c7533f2d8c2daff4a0dff970c951123481a5fa67a968"
)
ECDSA_SKE = bytes.fromhex(
    "0c00006e03001d20cd93f8360fda49d835d7e982936cbe1493ff8f1d2cac0a469fdf10a1c08546590403004630440220037c"
    "b6bb5c51f3ad689413d11fe36badfe1a78bd752a3d4888deaa5d2c88df1d022040d8bd1d2cd557f8cd606943102cb878bb04"
    "470a84972cd8ac7a1210afb6e532"
)
ECDSA_SHD = bytes.fromhex("0e000000")
ECDSA_CKE = bytes.fromhex("1000002120226221b13644264d412bdc9a6aae2c634cf3794782a4a5878215f58977197c63")
ECDSA_FIN = bytes.fromhex("1400000c608ebd74265dce6ef322dbbf")
ECDSA_NST = bytes.fromhex(
    "040000b600001c2000b0d3bbf3a383bd4b917fce0e95d19adb26a6a04e57046e21d3977f6e840dac576cfd58153ac88fe289"
    "695b83c82aa4bdf7914c5fc626acf575067d4a2bfe2b17bee588c49f5dafb31fe60efb2219e94b683adf0fa1accaeec6f86e"
    "814597b7f79cf513998e66c84f0a4200fb793908e32efab247a4992e5ca2eca0eccdd8c57d30624575d3f59ee518bad9f5c9"
    "00812460f91cf9ef5e79924bdb8880760390eec6246cb4a1ef4a635f17f6688f62aba7b9"
)
# DHE_RSA capture
DHE_CH = bytes.fromhex(
    "01000067030359c8fd2cc4b31c7d73763478e41bc05a0763a9e9c429469278099daa7e6ca093000004009e00ff0100003a00"
    "2300000016000000170000000d002a0028040305030603080708080809080a080b0804080508060401050106010303030103"
    "02040205020602"
)
DHE_SH = bytes.fromhex(
    "020000350303c279099865bdb5a8ab314dfb36ddf72fa82009463012d6c28ed74801eef546d500009e00000dff010001000023000000170000"
)
DHE_CERT = bytes.fromhex(
    "0b00031300031000030d30820309308201f1a0030201020214593b06c35f65f2a48e7f4a3336d3488b725b9ae8300d06092a"
    "864886f70d01010b050030143112301006035504030c096c6f63616c686f7374301e170d3236313132323132343335385a17"
    "0d3236313232323132343335385a30143112301006035504030c096c6f63616c686f737430820122300d06092a864886f70d"
    "01010105000382010f003082010a0282010100b6a647e9050f6050081d59a455e3ed1561bcc486df7669a4d7c19169612b32"
    "fc6c7d56e51df8c70f5bb4a484d5ca9703a18531df254bd751d705f0272cc6a504f1fc71fa26797349972f47481341fd0eb0"
    "6682ba199b4982c198687a9a34a6d5825f8021e658504f567066bf6ad9d7e9bd050c0e4117bdeedcd7e8bbe61972706da522"
    "de8f6b8708752c8044b4d41cc6b4cc814a3379c62efd7e7c07eed6c56c2f409a34e6192ca2fdd8be74d27a7e4c2ff00ae9c0"
    "4f92fc8e47406eedee36bd2009f1fd03cc04149d3d0697af2939594807796aa2281e02b22c8b774df05cecc4590e18f312c5"
    "3d7a200afe513fc1b693e5628e68e1a4b860138abd3179db090203010001a3533051301d0603551d0e04160414d1f4ee0990"
    "c5294b2e810f211b911a537faafb66301f0603551d23041830168014d1f4ee0990c5294b2e810f211b911a537faafb66300f"
    "0603551d130101ff040530030101ff300d06092a864886f70d01010b05000382010100440736cb33a6dc1b4134bcc5aff306"
    "7f5bf39f129e7b993bbdf540fe0158083e9cf2e546b52e49a88ce6ad7162800ecec2e651c112edf0360aaf74cbe1e2999283"
    "b7ff007b942faf17d1e79c7b596dc3de48e3a648bdab1438e5da06754871445a2e4a316c70cb44b9e67beb9ee461a3a09404"
    "27ce52e2e9dd7dc66851aa7fbf43c5331ccd7ef811269a43a855850fa628b3b6d2525c8b21fd2f9136aa9278bd893b885e98"
    "2628febcc54c205f53fabc27c95814cb623ef548a07a49a3f0a6a570fff893fd712311204a5f409a76de8dd93083ad049996"
    "7fa02e74c55901005d15c912e3afe46c51ee2d9198b8af4af5c261d0e00de81fcd551d0e3336d15b00"
)
DHE_SKE = bytes.fromhex(
    "0c00030b0100ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a0879"
    "8e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406"
    "b7edee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da48361c55d39a69163fa8fd24cf5f"
    "83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3be39e"
    "772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf6955817183995497cea956ae515d2261898fa051015728e5a"
    "8aacaa68ffffffffffffffff00010201009bfbba0ee29f724f89b0fac2e761ebd86afef77bdf060fac0a60888a30db8c64fa"
    "7d6d301c09814d7dbd6101c11d64dd9728aa6601e6c06e433bda3b490450907ed946c1a17e61e6bf25441f0c2e48ce496d90"
    "03a523be7a3153259a4907e6055cf445f65b329c201bc856667a53fbee983e6665e1bcb7696b82385979f4f3e552e2139fd5"
    "e54731d9dcbb1a0af2276077983af7d2da01d4d8e3793c79346ed4fadf2c3fd8eea4701eb38fc9b30b51b2a1008ced3b25f0"
    "4c621aa6d04dcbc1f05e8f6fb74e55fc46b6ba088e41365b7188b414a418628dba771e83322fcd6a171a5bde8b95ff834c81"
    "5977001ca748806867034595740142cd3d17e4e39c81a008040100a5260b694b3d0b5982922bae30b276f9f4f4bbeb29e01f"
    "cbc00da054d80921a6d56a4e9aab1642fb82e7d1295beb7fd8d4b03c069d7db48eee325f8efe7de030b8dd0d7630f23c8ea8"
    "03b60049e27f164e00e874be42e5c24af7d9e328748c59ada30b18d71b7388c09ee6a1f50d59610569211b880095ec1c68c8"
    "ca69e53d41c77b5f1b7ee61dd5ad38c642a810a83d0a13394e2610d794cfe225a9dc85f7daff8a32e2c74c6047065c24544f"
    "0fffc0197bcc292f973b50d476c9b2f82a19e8e3d72e9a8d8a5aacdf4bd64d845aa6a3d0a5fa7554cf09e916cdea84d11fab"
    "02d59e625355655719a64582f3c8059aee095b83ae88e8add02b420707d4c870a4"
)
DHE_CR = bytes.fromhex(
    "0d000030030102400028040305030603080708080809080a080b0804080508060401050106010303030103020402050206020000"
)
DHE_SHD = bytes.fromhex("0e000000")
DHE_CKE = bytes.fromhex(
    "100001020100b0a03d861c161d5e7bed6386e2671ddf5fa88c3615c5e757cc4dc166e7ccbd4134fc8474fe2dad9ed14a703d"
    "31fab67c11e370ce605fb1fda321507aba8bc9cb813e7a3dac39954bff8d02fc92a9667bf165737abca6d2188c0fe69056df"
    "adf27869ae414a542001e75cff07c31a49fced1ff934f1c7262a3db83ad7aa19bc6003069e5c1de42f4b03fc41281b8ca7c5"
    "f171f693ab6272ab00978cf13d6100a5813ab7cf7460cae0f1bc658f68075e768318cbf4a998db3359c50c4b9710ea8fbb81"
    "e56b2bd61770f18493eae7f5b7f344d3f5e4bea6e5e360b3dc49701808d6e5bfca700d512ff2166c4615d1eb21a7cafe4b14"
    "c68a31a3638e34c9e6715600"
)
DHE_CV = bytes.fromhex(
    "0f000104080401001947ecc31b220968f488f4b474139949a8ad51f19d243d141a0513846a47df174c938c8b9656c08f234b"
    "8bd8a0d25222840af1390aabc9d5ff1cf3ab7e2d8a57aa50a900f94ed63489deecc1d185ab1652c94cfda5dedcdc0d013612"
    "d322ef8c49f79647e53389c46f646da98c94537894dce6c5bee5e8435fe0a03fc75a59f5c02bb9063b2e31735719dd27499e"
    "fca7824a1fda4b992b1e8b68d8148ac563a80a0ce2aba674ef2e864f8cf8da6b15a77b034c6a5029de84e548ed6852dd42ac"
    "6c7b88203e2f92970024b8f3706ee199c7c879d9394c49807afc2d18cdbd6c8b1cca38efd58fde95e8d3af63c3064367a5fd"
    "da0fa1fd6aa47b38b7def853f065"
)
# ECDHE_RSA P-256
P256_CH = bytes.fromhex(
    "0100007f0303c430a2b946808d13ef442016f63e3faa2f7b0cdf91788f89bff01a415f267f4f000004c02f00ff0100005200"
    "0b000403000102000a000c000a001d0017001e00190018002300000016000000170000000d002a0028040305030603080708"
    "080809080a080b080408050806040105010601030303010302040205020602"
)
P256_SH = bytes.fromhex(
    "0200003d030380ce9b72e21f58a6e1a6c910cc1e0cc6ca686aba1c1f67290736bf22538774c700c02f000015ff0100010000"
    "0b0004030001020023000000170000"
)
P256_SKE = bytes.fromhex(
    "0c000149030017410452ddc1d03af1464cf57c99d291ea9207d45337a14dfc035f8d06ed9ed0357cc5060ef5d3a49819c261"
    "cf7b4ee2d7c7e1f9494f5c4853bb91007f0f589fba3d9608040100af8cce37c9d2798a41dcae26b0d83048b2fa75a50f8fc2"
    "65ad6498ba8f2296d3d683bf8acc3d69f58146498ba6a1881b030fbd19895cd6be96f52ee0e92634d0efdcd8645db7b42eed"
    "8bc6d3053d0d6ad8304b2f3863d135c8df73fa9a7a3beee3cbe1f689f89f413e227fa8cfeb4e1db13feca77069e25ae9fc61"
    "904abd0720c40899287343ad7c198388269692984307ee2188762aaac001ddd2c644f4728f7e1a0d1540de1ea91514fa1180"
    "77414572b9d915143ce982685fc96d78997d0f1980d6023d08e2e79a5d12fb9e788d7c9d226d59f103743cbe83165c08bcd7"
    "b58cf0eeb2d15daea50cda5bf680d652226c528aad6c9066202a6d728a5b1cff40"
)
P256_CKE = bytes.fromhex(
    "1000004241040457318056238144467d526363c1661e277e5aedaa19c631b3d7b1c67ac6447ffb043320a2b55c0baf486c69"
    "aef62be9c64f0cadf7ef4a5cac422d85eeb8856e"
)
RSA_CKE = bytes.fromhex(
    "1000010201001a9719cc80570c26f5f2d106b63f31a77a06d9c9e349e5edf314735d216b3a169cff012e406969fe58261e2e"
    "7956ab295370f6cc07655cdb88de12083d3e1cd10dadd42e568dd4e1022dcf444bd1f8543b25c276bad4cb654705c94c3e99"
    "901b062efef0b0302dc9d4ea281cfe306e4f76f30cbd8bd6d65d1f8dd2d3c7e8df0c08a95f8f00c1b0c7ccc745d57362b59a"
    "beb60b9be33e65561e82a7e7b82b0a7a29378a202f08b127cae21e18a5a93008ca980e92ae40dbec596e794f490bec1078c4"
    "8b1360396b62ef7d06995d688626bcb9c3f7489bebdfa259e8d9d1570e9ae8c192b4d3c6addf05611f9b3129734792bdff36"
    "517c0fa3907ec6250398fa4f"
)


def decode(raw: bytes) -> Handshake:
    return decode_message(raw, TLS12_PARSERS)


def with_body(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


# -- round trips ----------------------------------------------------------------------------

CERT_A = bytes.fromhex("3082") + bytes(range(40))
CERT_B = b"\x30" + bytes(300)
UNKNOWN_SCHEME = SignatureScheme(0x1234)
GREASE_SCHEME = SignatureScheme(0x0A0A)

SAMPLES: list[Handshake] = [
    HelloRequest(),
    ClientHello(
        random=bytes(range(32)),
        legacy_session_id=bytes(32),
        cipher_suites=(
            CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
        ),
        extensions=(
            Extension.make(ExtensionType.supported_groups, (NamedGroup.x25519, NamedGroup.secp256r1), X.CH),
            Extension(ExtensionType.session_ticket, b""),
            Extension(ExtensionType.extended_master_secret, b""),
        ),
    ),
    ServerHello(
        random=bytes(range(32, 64)),
        legacy_session_id_echo=bytes(range(32)),
        cipher_suite=CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        extensions=(Extension(ExtensionType.renegotiation_info, b"\x00"),),
    ),
    ServerHello(random=bytes(range(32, 64)), cipher_suite=CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256),
    Certificate12((CERT_A, CERT_B)),
    Certificate12(()),
    CertificateStatus(CertificateStatusType.ocsp, b"\x30\x03\x0a\x01\x00"),
    ServerKeyExchange.for_ecdhe(NamedGroup.x25519, bytes(range(32)), SignatureScheme.rsa_pss_rsae_sha256, bytes(256)),
    ServerKeyExchange.for_ecdhe(NamedGroup.secp256r1, b"\x04" + bytes(64), UNKNOWN_SCHEME, b"sig"),
    ServerKeyExchange.for_dhe(b"\xff" * 256, b"\x02", b"\x5a" * 256, SignatureScheme.rsa_pkcs1_sha256, b"s" * 256),
    CertificateRequest12(
        (ClientCertificateType.rsa_sign, ClientCertificateType.ecdsa_sign),
        (SignatureScheme.ecdsa_secp256r1_sha256, SignatureScheme.rsa_pss_rsae_sha256, GREASE_SCHEME),
        (b"\x30\x10" + bytes(16), b"\x30\x00"),
    ),
    CertificateRequest12((ClientCertificateType(99),), (UNKNOWN_SCHEME,), ()),
    ServerHelloDone(),
    CertificateVerify(SignatureScheme.rsa_pss_rsae_sha256, bytes(range(256))),
    CertificateVerify(UNKNOWN_SCHEME, b"\x01"),
    ClientKeyExchange.for_ecdhe(bytes(range(32))),
    ClientKeyExchange.for_dhe(b"\x7f" * 256),
    ClientKeyExchange.for_rsa(b"\x01" * 256),
    ClientKeyExchange.for_rsa(b""),
    Finished(bytes(range(12))),
    NewSessionTicket12(7200, b"ticket" * 30),
    NewSessionTicket12(0, b""),
]


def _id(msg: Handshake) -> str:
    return msg.name


@pytest.mark.parametrize("msg", SAMPLES, ids=_id)
def test_round_trip(msg: Handshake) -> None:
    raw = copy.copy(msg).encode()
    assert raw[0] == msg.msg_type and int.from_bytes(raw[1:4], "big") == len(raw) - 4
    back = decode(raw)
    assert type(back) is type(msg)
    assert back == msg
    assert back.raw == raw
    assert copy.copy(back).encode() == raw


def test_parsers_cover_tls12_and_only_tls12() -> None:
    T = HandshakeType
    assert set(TLS12_PARSERS) == {
        T.hello_request,
        T.client_hello,
        T.server_hello,
        T.certificate,
        T.certificate_status,
        T.server_key_exchange,
        T.certificate_request,
        T.server_hello_done,
        T.certificate_verify,
        T.client_key_exchange,
        T.finished,
        T.new_session_ticket,
    }
    kinds = {type(m) for m in SAMPLES}
    assert {m.msg_type for m in SAMPLES} == set(TLS12_PARSERS)
    assert all(issubclass(k, Handshake) for k in kinds)
    for tls13_only in (T.encrypted_extensions, T.key_update, T.end_of_early_data):
        with pytest.raises(AlertError) as err:
            decode(with_body(tls13_only, b""))
        assert err.value.description == AlertDescription.unexpected_message


# -- real OpenSSL messages ------------------------------------------------------------------

REAL = {name: value for name, value in globals().items() if name.startswith(("ECDSA_", "DHE_", "P256_", "RSA_"))}


@pytest.mark.parametrize("name", sorted(REAL))
def test_openssl_message_round_trips(name: str) -> None:
    raw = REAL[name]
    msg = decode(raw)
    assert msg.raw == raw
    assert copy.copy(msg).encode() == raw  # re-serialisation is byte-identical


def _random(raw: bytes) -> bytes:
    msg = decode(raw)
    assert isinstance(msg, ClientHello | ServerHello)
    return msg.random


def _leaf(cert_msg: bytes) -> x509.Certificate:
    msg = decode(cert_msg)
    assert isinstance(msg, Certificate12)
    return x509.load_der_x509_certificate(msg.certificates[0])


def test_openssl_ecdhe_ecdsa_flight() -> None:
    ch, sh = decode(ECDSA_CH), decode(ECDSA_SH)
    assert isinstance(ch, ClientHello) and isinstance(sh, ServerHello)
    assert sh.cipher_suite == CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256

    cert = decode(ECDSA_CERT)
    assert isinstance(cert, Certificate12) and len(cert.certificates) == 2
    leaf, ca = (x509.load_der_x509_certificate(c) for c in cert.certificates)
    assert leaf.subject.rfc4514_string() == "CN=localhost"
    assert leaf.issuer == ca.subject and ca.subject.rfc4514_string() == "CN=glasstls-test-ca"

    status = decode(ECDSA_STATUS)
    assert isinstance(status, CertificateStatus) and status.status_type == CertificateStatusType.ocsp
    response = ocsp.load_der_ocsp_response(status.ocsp_response)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.serial_number == leaf.serial_number

    ske = decode(ECDSA_SKE)
    assert isinstance(ske, ServerKeyExchange)
    params = ske.ecdhe()
    assert params.curve_type == ECCurveType.named_curve == 3
    assert params.group == NamedGroup.x25519 and len(params.public) == 32
    assert params.algorithm == SignatureScheme.ecdsa_secp256r1_sha256
    assert params.params_raw == ecdhe_params_bytes(params.group, params.public) == ske.body[: 4 + 32]
    # params_raw is exactly what OpenSSL signed (RFC 8422, Section 5.4).
    key = leaf.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(params.signature, params.signed_data(ch.random, sh.random), ec.ECDSA(hashes.SHA256()))
    assert ServerKeyExchange.for_ecdhe(params.group, params.public, params.algorithm, params.signature) == ske

    assert isinstance(decode(ECDSA_SHD), ServerHelloDone)
    cke = decode(ECDSA_CKE)
    assert isinstance(cke, ClientKeyExchange)
    assert len(cke.ecdhe_public()) == 32
    assert ClientKeyExchange.for_ecdhe(cke.ecdhe_public()) == cke

    fin = decode(ECDSA_FIN)
    assert isinstance(fin, Finished) and len(fin.verify_data) == 12

    nst = decode(ECDSA_NST)
    assert isinstance(nst, NewSessionTicket12)
    assert nst.lifetime_hint == 7200 and len(nst.ticket) == len(ECDSA_NST) - 4 - 4 - 2


def _pss_sha256() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def test_openssl_dhe_rsa_flight() -> None:
    ske = decode(DHE_SKE)
    assert isinstance(ske, ServerKeyExchange)
    params = ske.dhe()
    assert isinstance(params, ServerDHParams)
    assert len(params.p) == 256 and params.p[:8] == b"\xff" * 8  # RFC 3526's 2048-bit MODP group
    assert params.g == b"\x02" and 0 < len(params.ys) <= 256
    assert params.params_raw == dhe_params_bytes(params.p, params.g, params.ys)
    assert params.algorithm == SignatureScheme.rsa_pss_rsae_sha256
    key = _leaf(DHE_CERT).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    signed = params.signed_data(_random(DHE_CH), _random(DHE_SH))
    key.verify(params.signature, signed, _pss_sha256(), hashes.SHA256())
    assert ServerKeyExchange.for_dhe(params.p, params.g, params.ys, params.algorithm, params.signature) == ske

    cr = decode(DHE_CR)
    assert isinstance(cr, CertificateRequest12)
    assert cr.certificate_types == (1, 2, 64)
    assert [t.name for t in cr.certificate_types] == ["rsa_sign", "dss_sign", "ecdsa_sign"]
    assert cr.authorities == ()
    assert SignatureScheme.rsa_pss_rsae_sha256 in cr.signature_algorithms
    # dsa_sha256 (0x0402) has no TLS 1.3 name: kept, named in hex.
    assert SignatureScheme(0x0402) in cr.signature_algorithms and SignatureScheme(0x0402).name == "unknown_0x0402"

    cke = decode(DHE_CKE)
    assert isinstance(cke, ClientKeyExchange)
    assert len(cke.dhe_public()) == 256
    assert ClientKeyExchange.for_dhe(cke.dhe_public()) == cke

    # The client's CertificateVerify signs every message before it, as received (RFC 5246, Section 7.4.8).
    cv = decode(DHE_CV)
    assert isinstance(cv, CertificateVerify) and cv.algorithm == SignatureScheme.rsa_pss_rsae_sha256
    transcript = b"".join(
        decode(m).raw for m in (DHE_CH, DHE_SH, DHE_CERT, DHE_SKE, DHE_CR, DHE_SHD, DHE_CERT, DHE_CKE)
    )
    key.verify(cv.signature, transcript, _pss_sha256(), hashes.SHA256())


def test_openssl_ecdhe_p256_and_rsa_key_exchange() -> None:
    ske = decode(P256_SKE)
    assert isinstance(ske, ServerKeyExchange)
    params = ske.ecdhe()
    assert isinstance(params, ServerECDHParams)
    assert params.group == NamedGroup.secp256r1
    assert len(params.public) == 65 and params.public[0] == 4  # uncompressed (RFC 8422, Section 5.4.1)
    key = _leaf(DHE_CERT).public_key()  # the same RSA certificate as the DHE capture
    assert isinstance(key, rsa.RSAPublicKey)
    signed = params.signed_data(_random(P256_CH), _random(P256_SH))
    key.verify(params.signature, signed, _pss_sha256(), hashes.SHA256())

    cke = decode(P256_CKE)
    assert isinstance(cke, ClientKeyExchange)
    point = cke.ecdhe_public()
    assert len(point) == 65 and point[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)

    rsa_cke = decode(RSA_CKE)
    assert isinstance(rsa_cke, ClientKeyExchange)
    assert len(rsa_cke.rsa_encrypted()) == 256  # one RSA-2048 block
    assert ClientKeyExchange.for_rsa(rsa_cke.rsa_encrypted()) == rsa_cke


def test_key_exchange_readings_do_not_cross() -> None:
    # Read with the wrong key exchange, a body fails to parse rather than yield garbage.
    for wrong in (
        lambda: decode(DHE_SKE).ecdhe(),  # type: ignore[attr-defined]
        lambda: decode(ECDSA_SKE).dhe(),  # type: ignore[attr-defined]
        lambda: decode(ECDSA_CKE).dhe_public(),  # type: ignore[attr-defined]
        lambda: decode(DHE_CKE).ecdhe_public(),  # type: ignore[attr-defined]
        lambda: decode(ECDSA_CKE).rsa_encrypted(),  # type: ignore[attr-defined]
    ):
        with pytest.raises(AlertError):
            wrong()


# -- builders -------------------------------------------------------------------------------


def test_builders_and_signed_data() -> None:
    public = bytes(range(1, 33))
    params_raw = ecdhe_params_bytes(NamedGroup.x25519, public)
    assert params_raw == b"\x03\x00\x1d\x20" + public
    assert ServerKeyExchange.ecdhe_params_bytes is ecdhe_params_bytes
    ske = ServerKeyExchange.for_ecdhe(NamedGroup.x25519, public, SignatureScheme.ed25519, b"S" * 64)
    assert ske.body == params_raw + b"\x08\x07\x00\x40" + b"S" * 64
    got = ske.ecdhe()
    assert got == ServerECDHParams(3, NamedGroup.x25519, public, SignatureScheme.ed25519, b"S" * 64, params_raw)
    cr, sr = b"c" * 32, b"s" * 32
    assert got.signed_data(cr, sr) == cr + sr + params_raw

    dh_raw = dhe_params_bytes(b"\xfb", b"\x02", b"\x05")
    assert dh_raw == b"\x00\x01\xfb\x00\x01\x02\x00\x01\x05"
    assert ServerKeyExchange.dhe_params_bytes is dhe_params_bytes
    dhe = ServerKeyExchange.for_dhe(b"\xfb", b"\x02", b"\x05", SignatureScheme.rsa_pkcs1_sha256, b"")
    assert dhe.body == dh_raw + b"\x04\x01\x00\x00"
    assert dhe.dhe() == ServerDHParams(b"\xfb", b"\x02", b"\x05", SignatureScheme.rsa_pkcs1_sha256, b"", dh_raw)
    assert dhe.dhe().signed_data(cr, sr) == cr + sr + dh_raw

    assert ClientKeyExchange.for_ecdhe(public).body == b"\x20" + public
    assert ClientKeyExchange.for_dhe(b"\x01\x02").body == b"\x00\x02\x01\x02"
    assert ClientKeyExchange.for_rsa(b"\xaa" * 3).body == b"\x00\x03\xaa\xaa\xaa"

    with pytest.raises(ValueError):
        ClientKeyExchange.for_ecdhe(bytes(256))  # does not fit opaque point<1..2^8-1>


# -- truncations and trailing bytes -----------------------------------------------------------


def _interpret(msg: Handshake, like: Handshake) -> object:
    """Read an opaque key-exchange body the way ``like`` (the untruncated message) reads."""
    if isinstance(like, ServerKeyExchange):
        assert isinstance(msg, ServerKeyExchange)
        try:
            like.ecdhe()
        except AlertError:
            return msg.dhe()
        return msg.ecdhe()
    assert isinstance(like, ClientKeyExchange) and isinstance(msg, ClientKeyExchange)
    for reading in ("ecdhe_public", "dhe_public", "rsa_encrypted"):
        try:
            getattr(like, reading)()
        except AlertError:
            continue
        return getattr(msg, reading)()
    raise AssertionError("no reading fits the untruncated message")


ALL_MESSAGES = [pytest.param(copy.copy(m).encode(), id=f"sample-{i}-{m.name}") for i, m in enumerate(SAMPLES)] + [
    pytest.param(raw, id=name) for name, raw in sorted(REAL.items())
]


@pytest.mark.parametrize("raw", ALL_MESSAGES)
def test_every_truncation_is_decode_error(raw: bytes) -> None:
    full = decode(raw)
    body = raw[4:]
    for cut in range(len(body)):
        truncated = with_body(raw[0], body[:cut])
        try:
            msg = decode(truncated)
        except DecodeError:
            continue
        if isinstance(full, Finished):
            continue  # any length parses; the states require 12 bytes (RFC 5246, Section 7.4.9)
        if isinstance(full, ServerKeyExchange | ClientKeyExchange):
            with pytest.raises(DecodeError):
                _interpret(msg, full)
            continue
        # RFC 5246, Section 7.4.1.2: a hello may end before its extensions, and only there.
        assert isinstance(full, ClientHello | ServerHello), f"{full.name} cut to {cut} bytes parsed"
        assert isinstance(msg, ClientHello | ServerHello) and msg.extensions == ()
        ext_block = Writer()
        X.write_extensions(ext_block, full.extensions)
        assert body[:cut] + ext_block.getvalue() == body


@pytest.mark.parametrize("raw", ALL_MESSAGES)
def test_trailing_bytes_are_decode_error(raw: bytes) -> None:
    full = decode(raw)
    for extra in (b"\x00", b"\x01\x02\x03"):
        longer = with_body(raw[0], raw[4:] + extra)
        if isinstance(full, Finished):
            continue
        if isinstance(full, ServerKeyExchange | ClientKeyExchange):
            msg = decode(longer)
            with pytest.raises(DecodeError, match="trailing"):
                _interpret(msg, full)
            continue
        with pytest.raises(DecodeError):
            decode(longer)


@pytest.mark.parametrize(
    ("msg_type", "body", "field"),
    [
        (HandshakeType.certificate, b"\x00\x00\x03\x00\x00\x00", "ASN.1Cert"),  # empty certificate
        (HandshakeType.certificate, b"\x00\x00\x05\x00\x00\x09\x30\x00", "ASN.1Cert"),  # over-long certificate
        (HandshakeType.certificate_status, b"\x01\x00\x00\x00", "OCSPResponse"),
        (HandshakeType.certificate_request, b"\x00\x00\x02\x04\x03\x00\x00", "certificate_types"),
        (HandshakeType.certificate_request, b"\x01\x40\x00\x00\x00\x00", "supported_signature_algorithms"),
        (HandshakeType.certificate_request, b"\x01\x40\x00\x03\x04\x03\x01\x00\x00", "odd"),
        (HandshakeType.certificate_request, b"\x01\x40\x00\x02\x04\x03\x00\x02\x00\x00", "DistinguishedName"),
        (HandshakeType.new_session_ticket, b"\x00\x00\x1c\x20\x00\x05abc", "ticket"),
    ],
)
def test_length_limits(msg_type: int, body: bytes, field: str) -> None:
    with pytest.raises(DecodeError, match=field):
        decode(with_body(msg_type, body))


@pytest.mark.parametrize(
    ("body", "reading", "field"),
    [
        (b"\x03\x00\x1d\x00\x04\x03\x00\x00", "ecdhe", "point"),  # empty point
        (b"\x03\x00\x1d\x01\x09\x04\x03\x00\x05abc", "ecdhe", "signature"),  # over-long signature
        (b"\x00\x00\x00\x01\x02\x00\x01\x05\x04\x01\x00\x00", "dhe", "dh_p"),  # empty p
        (b"\x00\x01\xfb\x00\x00\x00\x01\x05\x04\x01\x00\x00", "dhe", "dh_g"),
        (b"\x00\x01\xfb\x00\x01\x02\x00\x00\x04\x01\x00\x00", "dhe", "dh_Ys"),
        (b"\x00\x01\xfb\x00\x01\x02\x00\x01\x05\x04", "dhe", "signature algorithm"),
    ],
)
def test_server_key_exchange_malformed(body: bytes, reading: str, field: str) -> None:
    ske = decode(with_body(HandshakeType.server_key_exchange, body))
    with pytest.raises(DecodeError, match=field) as err:
        getattr(ske, reading)()
    assert err.value.description == AlertDescription.decode_error
    assert err.value.reason.startswith("ServerKeyExchange")


@pytest.mark.parametrize(
    ("body", "reading", "field"),
    [
        (b"\x00", "ecdhe_public", "ecdh_Yc"),
        (b"\x00\x00", "dhe_public", "dh_Yc"),
        (b"\x00\x03\x01\x02", "rsa_encrypted", "EncryptedPreMasterSecret"),
        (b"", "rsa_encrypted", "EncryptedPreMasterSecret"),
        (b"\x01\x05\x00", "ecdhe_public", "trailing"),
    ],
)
def test_client_key_exchange_malformed(body: bytes, reading: str, field: str) -> None:
    cke = decode(with_body(HandshakeType.client_key_exchange, body))
    with pytest.raises(DecodeError, match=field) as err:
        getattr(cke, reading)()
    assert err.value.reason.startswith("ClientKeyExchange")


# -- alerts other than decode_error -----------------------------------------------------------


@pytest.mark.parametrize("curve_type", [0, 1, 2, 4, 255])
def test_non_named_curve_is_illegal_parameter(curve_type: int) -> None:
    body = bytes([curve_type]) + ECDSA_SKE[5:]
    ske = decode(with_body(HandshakeType.server_key_exchange, body))
    with pytest.raises(AlertError) as err:
        ske.ecdhe()  # type: ignore[attr-defined]
    assert not isinstance(err.value, DecodeError)
    assert err.value.description == AlertDescription.illegal_parameter
    assert "only named curves are supported" in err.value.reason
    # Checked before anything else is read: a bare explicit curve_type is still illegal_parameter.
    with pytest.raises(AlertError) as err:
        ServerKeyExchange(bytes([curve_type])).ecdhe()
    assert err.value.description == AlertDescription.illegal_parameter


def test_unknown_certificate_status_type_is_illegal_parameter() -> None:
    with pytest.raises(AlertError) as err:
        decode(with_body(HandshakeType.certificate_status, b"\x02\x00\x00\x01\x00"))
    assert err.value.description == AlertDescription.illegal_parameter


# -- open enums -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0x1234, 0x0A0A, 0xFFFF, 0x0402])
def test_unknown_signature_scheme_is_kept(value: int) -> None:
    ske = ServerKeyExchange.for_ecdhe(NamedGroup(0x7777), b"\x04\x01", value, b"sig")
    back = decode(copy.copy(ske).encode())
    params = back.ecdhe()  # type: ignore[attr-defined]
    assert params.algorithm == value and isinstance(params.algorithm, SignatureScheme)
    assert not params.algorithm.known and f"0x{value:04x}" in params.algorithm.name
    assert params.group == 0x7777 and params.group.name == "unknown_0x7777"

    dhe = decode(copy.copy(ServerKeyExchange.for_dhe(b"\x17", b"\x05", b"\x04", value, b"")).encode())
    assert dhe.dhe().algorithm == value  # type: ignore[attr-defined]

    cr = CertificateRequest12((ClientCertificateType(200),), (SignatureScheme(value),), ())
    cr_back = decode(copy.copy(cr).encode())
    assert isinstance(cr_back, CertificateRequest12)
    assert cr_back.signature_algorithms == (value,) and cr_back.certificate_types == (200,)
    assert cr_back.certificate_types[0].name == "unknown_0xc8"

    cv = decode(copy.copy(CertificateVerify(SignatureScheme(value), b"x")).encode())
    assert isinstance(cv, CertificateVerify) and cv.algorithm == value


# -- properties -------------------------------------------------------------------------------

u16 = st.integers(0, 0xFFFF)
blob = st.binary(min_size=1, max_size=300)


@settings(max_examples=200, deadline=None)
@given(group=u16, public=st.binary(min_size=1, max_size=255), alg=u16, sig=st.binary(max_size=600))
def test_ecdhe_property(group: int, public: bytes, alg: int, sig: bytes) -> None:
    ske = decode(copy.copy(ServerKeyExchange.for_ecdhe(group, public, alg, sig)).encode())
    p = ske.ecdhe()  # type: ignore[attr-defined]
    assert (p.group, p.public, p.algorithm, p.signature) == (group, public, alg, sig)
    assert p.params_raw == ecdhe_params_bytes(group, public)


@settings(max_examples=200, deadline=None)
@given(p=blob, g=blob, ys=blob, alg=u16, sig=st.binary(max_size=600))
def test_dhe_property(p: bytes, g: bytes, ys: bytes, alg: int, sig: bytes) -> None:
    ske = decode(copy.copy(ServerKeyExchange.for_dhe(p, g, ys, alg, sig)).encode())
    params = ske.dhe()  # type: ignore[attr-defined]
    assert (params.p, params.g, params.ys, params.algorithm, params.signature) == (p, g, ys, alg, sig)
    assert params.params_raw == dhe_params_bytes(p, g, ys)


@settings(max_examples=200, deadline=None)
@given(
    certs=st.lists(blob, max_size=4),
    types=st.lists(st.integers(0, 255), min_size=1, max_size=5),
    schemes=st.lists(u16, min_size=1, max_size=10),
    names=st.lists(blob, max_size=4),
)
def test_certificate_and_request_property(
    certs: list[bytes], types: list[int], schemes: list[int], names: list[bytes]
) -> None:
    cert = Certificate12(tuple(certs))
    assert decode(copy.copy(cert).encode()) == cert
    cr = CertificateRequest12(tuple(types), tuple(SignatureScheme(s) for s in schemes), tuple(names))
    assert decode(copy.copy(cr).encode()) == cr


@settings(max_examples=500, deadline=None)
@given(msg_type=st.sampled_from(sorted(TLS12_PARSERS)), body=st.binary(max_size=200))
def test_arbitrary_bodies_fail_only_with_alerts(msg_type: HandshakeType, body: bytes) -> None:
    try:
        msg = decode(with_body(msg_type, body))
    except AlertError:
        return
    readings = {
        ServerKeyExchange: ("ecdhe", "dhe"),
        ClientKeyExchange: ("ecdhe_public", "dhe_public", "rsa_encrypted"),
    }.get(type(msg), ())
    for reading in readings:
        with contextlib.suppress(AlertError):
            getattr(msg, reading)()


def test_reader_is_bounded_to_the_body() -> None:
    # The parsers read from a Reader positioned after the header, as decode_message builds it.
    raw = copy.copy(NewSessionTicket12(1, b"t")).encode()
    r = Reader(raw, "new_session_ticket", 4)
    assert NewSessionTicket12.parse(r) == NewSessionTicket12(1, b"t")
    r.finish()
