import Testing
import Hummingbird
import HummingbirdTesting
import Yams
